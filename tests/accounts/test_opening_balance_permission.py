"""An opening balance is a deposit (issue 9): it needs ``transactions.add_deposit``, whatever the door.

Before the fix a key holding only ``accounts.add_account`` created money with
``createAccount(input: {balance: "999999999999.99"})`` while ``createDeposit``
refused it. The rule now lives in the services (``account_create``,
``deposit_create``), so the API, the admin and the commands all obey it: the
refusal is PERMISSION_DENIED, audited, and changes nothing else.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Permission, User
from django.test import Client

from access.services import api_key_create
from accounts.models import SETTLEMENT_ACCOUNT_ID, Account
from accounts.services import account_create
from audit.models import AuditEvent
from core.errors import ErrorCode, LedgerError
from core.graphql.node import global_id
from tests.factories import make_account, valid_cpf
from transactions.models import Entry, Transaction
from transactions.services import deposit_create

pytestmark = pytest.mark.django_db

ADD_ACCOUNT, ADD_DEPOSIT = "accounts.add_account", "transactions.add_deposit"


def user_with(*perms: str, **flags: Any) -> User:
    user = User.objects.create_user(f"user{User.objects.count()}", **flags)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return User.objects.get(pk=user.pk)  # a fresh instance: no stale permission cache


def books() -> tuple[int, int, int, int]:
    """Accounts, transactions, entries and the settlement account's balance: what money creation would change."""
    return (
        Account.objects.count(),
        Transaction.objects.count(),
        Entry.objects.count(),
        Account.objects.get(pk=SETTLEMENT_ACCOUNT_ID).balance,
    )


def refused(call: Any) -> LedgerError:
    with pytest.raises(LedgerError) as caught:
        call()
    assert caught.value.code == ErrorCode.PERMISSION_DENIED
    return caught.value


# --- The services: the one place the rule lives ------------------------------------------------


def test_an_opening_balance_needs_the_deposit_permission_and_nothing_is_created(settlement: Account) -> None:
    opener = user_with(ADD_ACCOUNT)
    before, events = books(), AuditEvent.objects.count()
    error = refused(
        lambda: account_create(name="Eve", document=valid_cpf(), initial_balance=99_999_999_999_999, actor=opener)
    )
    assert error.field == "balance"
    assert books() == before  # no account, no deposit, no money
    event = AuditEvent.objects.order_by("-pk").first()
    assert AuditEvent.objects.count() == events + 1 and event is not None
    assert (event.action, event.outcome, event.actor_id) == ("createAccount", "PERMISSION_DENIED", opener.pk)


def test_an_account_without_balance_needs_only_add_account(settlement: Account) -> None:
    account = account_create(name="Eve", document=valid_cpf(), initial_balance=0, actor=user_with(ADD_ACCOUNT))
    assert account.balance == 0


def test_with_both_permissions_the_opening_balance_is_deposited(settlement: Account) -> None:
    account = account_create(
        name="Eve", document=valid_cpf(), initial_balance=10_000, actor=user_with(ADD_ACCOUNT, ADD_DEPOSIT)
    )
    assert account.balance == 10_000
    assert Transaction.objects.get(receiver=account).type == "DEPOSIT"


def test_opening_an_account_needs_add_account_in_the_service_too(settlement: Account) -> None:
    before = books()
    refused(lambda: account_create(name="Eve", document=valid_cpf(), actor=user_with(ADD_DEPOSIT)))
    assert books() == before


@pytest.mark.parametrize(
    "actor",
    [
        pytest.param(lambda: user_with(ADD_ACCOUNT, ADD_DEPOSIT, is_active=False), id="inactive-user"),
        pytest.param(lambda: AnonymousUser(), id="anonymous"),
    ],
)
def test_an_inactive_or_anonymous_actor_has_no_permission(settlement: Account, actor: Any) -> None:
    before = books()
    refused(lambda: account_create(name="Eve", document=valid_cpf(), initial_balance=100, actor=actor()))
    assert books() == before


def test_a_deposit_needs_the_permission_whoever_calls_the_service(settlement: Account) -> None:
    """The admin and the commands call ``deposit_create`` with their user: the same rule answers them."""
    account = make_account()
    before = books()
    error = refused(lambda: deposit_create(account_id=account.pk, amount=500, actor=user_with(ADD_ACCOUNT)))
    assert error.field is None
    assert books() == before
    assert AuditEvent.objects.filter(action="createDeposit", outcome="PERMISSION_DENIED").count() == 1
    assert deposit_create(account_id=account.pk, amount=500, actor=user_with(ADD_DEPOSIT)).amount == 500


@pytest.mark.parametrize("system", [None, "system:seed"])
def test_operator_commands_without_a_user_are_trusted(settlement: Account, system: str | None) -> None:
    """No client can make an actor-less call: commands, workers and seeding run with shell access."""
    account = account_create(name="Seed", document=valid_cpf(), initial_balance=100, actor=system)
    assert account.balance == 100
    assert deposit_create(account_id=account.pk, amount=1, actor=system).amount == 1


# --- Over HTTP: the key of the report, and a read-only key --------------------------------------

CREATE = (
    'mutation($balance: Decimal) { createAccount(input: {name: "Eve", document: "52998224725", '
    "balance: $balance}) { account { id } errors { code field message } } }"
)


def post(user: User, query: str, variables: dict[str, Any] | None = None, *, read_only: bool = False) -> Any:
    _, token = api_key_create(user=user, read_only=read_only)
    response = Client().post(
        "/graphql",
        {"query": query, "variables": variables or {}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture(autouse=True)
def plain_http(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False


def test_a_key_with_only_add_account_cannot_open_an_account_with_money(settlement: Account) -> None:
    opener = user_with(ADD_ACCOUNT, "accounts.view_account")
    before = books()
    body = post(opener, CREATE, {"balance": "999999999999.99"})
    payload = body["data"]["createAccount"]
    assert payload["account"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("PERMISSION_DENIED", "balance")]
    assert books() == before
    # The same key, the same request without money: allowed, as before.
    assert post(opener, CREATE, {"balance": "0"})["data"]["createAccount"]["errors"] == []


def test_the_inline_literal_is_refused_the_same_way(settlement: Account) -> None:
    inline = CREATE.replace("($balance: Decimal)", "").replace("$balance", '"999999999999.99"')
    before = books()
    payload = post(user_with(ADD_ACCOUNT), inline)["data"]["createAccount"]
    assert [e["code"] for e in payload["errors"]] == ["PERMISSION_DENIED"]
    assert books() == before


def test_a_read_only_key_never_passes_even_for_a_superuser(settlement: Account) -> None:
    boss = User.objects.create_superuser("boss", password="x")
    account = make_account()
    before = books()
    for balance in ("100.00", "0"):
        payload = post(boss, CREATE, {"balance": balance}, read_only=True)["data"]["createAccount"]
        assert [e["code"] for e in payload["errors"]] == ["PERMISSION_DENIED"]
    deposit = "mutation($id: ID!) { createDeposit(input: {accountId: $id, amount: 1}) { errors { code } } }"
    payload = post(boss, deposit, {"id": global_id("Account", account.pk)}, read_only=True)["data"]["createDeposit"]
    assert payload["errors"] == [{"code": "PERMISSION_DENIED"}]
    assert books() == before
