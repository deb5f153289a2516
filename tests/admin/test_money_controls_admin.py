"""The admin's money controls: freeze, unfreeze, close, credit limit, capture and void, through the services."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.models import Account
from audit.models import AuditEvent
from tests.factories import make_account
from tests.support_money import manual
from transactions.models import Transaction
from transactions.services import transfer_create

pytestmark = pytest.mark.django_db

ACCOUNTS = "/admin/accounts/account/"
TRANSACTIONS = "/admin/transactions/transaction/"


def staff(*perms: str) -> Client:
    user = get_user_model().objects.create_user(f"staff{get_user_model().objects.count()}", is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    client = Client()
    client.force_login(user)
    return client


def act(client: Client, url: str, action: str, pks: list[int], **inputs: str) -> str:
    data: dict[str, Any] = {"action": action, "_selected_action": [str(pk) for pk in pks], "index": "0", **inputs}
    return client.post(url, data, follow=True).content.decode()


def test_staff_freeze_unfreeze_and_close_with_a_reason_as_themselves(settlement: Account) -> None:
    client = staff("accounts.view_account", "accounts.change_account_status")
    account = make_account(0)
    body = act(client, ACCOUNTS, "freeze_selected", [account.pk], reason="SISBAJUD 42")
    assert f"Account {account.pk} frozen." in body
    stored = Account.objects.get(pk=account.pk)
    assert (stored.status, stored.status_reason) == ("FROZEN", "SISBAJUD 42")
    event = AuditEvent.objects.get(action="freezeAccount")
    assert event.actor_label.startswith("staff") and event.payload["reason"] == "SISBAJUD 42"
    act(client, ACCOUNTS, "unfreeze_selected", [account.pk], reason="lifted")
    assert Account.objects.get(pk=account.pk).status == "ACTIVE"
    body = act(client, ACCOUNTS, "close_selected", [account.pk], reason="")
    assert "INVALID_INPUT" in body and Account.objects.get(pk=account.pk).status == "ACTIVE"
    act(client, ACCOUNTS, "close_selected", [account.pk], reason="customer left")
    assert Account.objects.get(pk=account.pk).status == "CLOSED"


def test_staff_set_a_credit_limit_and_a_refusal_is_reported(settlement: Account) -> None:
    client = staff("accounts.view_account", "accounts.change_credit_limit")
    account = make_account(0)
    body = act(client, ACCOUNTS, "set_credit_limit_selected", [account.pk], credit_limit="1500.00")
    assert f"Account {account.pk} given its new credit limit." in body
    assert Account.objects.get(pk=account.pk).credit_limit == 150_000
    body = act(client, ACCOUNTS, "set_credit_limit_selected", [account.pk], credit_limit="-1")
    assert "INVALID_AMOUNT" in body and Account.objects.get(pk=account.pk).credit_limit == 150_000


def test_the_account_actions_need_their_own_permissions(settlement: Account) -> None:
    client = staff("accounts.view_account")
    account = make_account(0)
    act(client, ACCOUNTS, "freeze_selected", [account.pk], reason="x")
    act(client, ACCOUNTS, "set_credit_limit_selected", [account.pk], credit_limit="10")
    stored = Account.objects.get(pk=account.pk)
    assert (stored.status, stored.credit_limit) == ("ACTIVE", 0)
    page = client.get(ACCOUNTS).content.decode()
    assert "freeze_selected" not in page and "set_credit_limit_selected" not in page


def test_staff_capture_and_void_holds(settlement: Account) -> None:
    client = staff("transactions.view_transaction", "transactions.add_transaction")
    a, b = make_account(5_000), make_account(0)
    first = transfer_create(spec=manual(a, b, 1_000)).transaction
    second = transfer_create(spec=manual(a, b, 2_000)).transaction
    assert first is not None and second is not None
    body = act(client, TRANSACTIONS, "capture_selected", [first.pk])
    assert f"Transaction {first.pk} captured" in body
    act(client, TRANSACTIONS, "cancel_selected", [second.pk])
    assert Transaction.objects.get(pk=first.pk).status == "COMPLETED"
    assert (Transaction.objects.get(pk=second.pk).failure_reason, Account.objects.get(pk=a.pk).held) == (
        "CANCELLED",
        0,
    )
    body = act(client, TRANSACTIONS, "capture_selected", [first.pk])
    assert "NOT_CAPTURABLE" in body
