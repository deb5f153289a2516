"""Frozen and closed accounts, and credit limits (money-controls.md): the services, on any database."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User

from accounts.models import SETTLEMENT_ACCOUNT_ID, Account
from audit.models import AuditEvent
from core.errors import ErrorCode
from tests.factories import make_account
from tests.ledger_checks import assert_ledger_verifies
from tests.support_money import manual, refused
from transactions.models import Transaction
from transactions.services import (
    TransferSpec,
    account_close,
    account_freeze,
    account_set_credit_limit,
    account_unfreeze,
    deposit_create,
    transaction_capture,
    transactions_settle_due,
    transfer_batch_create,
    transfer_create,
)

pytestmark = pytest.mark.django_db


def fresh(account: Account) -> Account:
    return Account.objects.get(pk=account.pk)


def user_with(*codenames: str) -> User:
    user = User.objects.create_user(f"staff-{User.objects.count()}")
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="accounts", codename__in=codenames))
    return User.objects.get(pk=user.pk)


# --- status changes ------------------------------------------------------------------------


def test_freeze_then_unfreeze_keeps_the_reason_and_audits_the_actor(settlement: Account) -> None:
    account = make_account(1_000)
    staff = user_with("change_account_status")
    frozen = account_freeze(account_id=account.pk, reason="  SISBAJUD order 123  ", actor=staff)
    assert (frozen.status, frozen.status_reason) == ("FROZEN", "SISBAJUD order 123")
    assert (fresh(account).status, fresh(account).status_reason) == ("FROZEN", "SISBAJUD order 123")
    account_unfreeze(account_id=account.pk, reason="order lifted", actor=staff)
    assert (fresh(account).status, fresh(account).status_reason) == ("ACTIVE", "order lifted")
    events = AuditEvent.objects.filter(object_type="Account", object_id=str(account.pk)).exclude(action="createAccount")
    assert [(e.action, e.outcome, e.actor_label, e.payload["reason"]) for e in events.order_by("pk")] == [
        ("freezeAccount", "FROZEN", staff.username, "SISBAJUD order 123"),
        ("unfreezeAccount", "ACTIVE", staff.username, "order lifted"),
    ]


def test_asking_for_the_status_it_already_has_changes_nothing_and_is_no_error(settlement: Account) -> None:
    account = make_account(0)
    account_unfreeze(account_id=account.pk, reason="already active")
    account_freeze(account_id=account.pk, reason="first")
    account_freeze(account_id=account.pk, reason="second")
    assert (fresh(account).status, fresh(account).status_reason) == ("FROZEN", "first")
    account_close(account_id=account.pk, reason="closing")
    account_close(account_id=account.pk, reason="closing again")
    assert (fresh(account).status, fresh(account).status_reason) == ("CLOSED", "closing")
    assert AuditEvent.objects.filter(outcome="UNCHANGED").count() == 3


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_the_reason_is_1_to_500_characters_once_trimmed(settlement: Account, reason: str) -> None:
    account = make_account(0)
    error = refused(lambda: account_freeze(account_id=account.pk, reason=reason))
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "reason")
    assert fresh(account).status == "ACTIVE"
    account_freeze(account_id=account.pk, reason="y" * 500)


def test_the_settlement_account_has_no_status_or_limit(settlement: Account) -> None:
    for run in (
        lambda: account_freeze(account_id=SETTLEMENT_ACCOUNT_ID, reason="no"),
        lambda: account_close(account_id=SETTLEMENT_ACCOUNT_ID, reason="no"),
        lambda: account_set_credit_limit(account_id=SETTLEMENT_ACCOUNT_ID, credit_limit=100),
    ):
        error = refused(run)
        assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "accountId")


def test_an_unknown_account_is_not_found(settlement: Account) -> None:
    assert refused(lambda: account_freeze(account_id=10**9, reason="x")).code == ErrorCode.ACCOUNT_NOT_FOUND


def test_status_changes_need_their_permission(settlement: Account) -> None:
    account = make_account(0)
    error = refused(lambda: account_freeze(account_id=account.pk, reason="x", actor=user_with("change_credit_limit")))
    assert error.code == ErrorCode.PERMISSION_DENIED
    error = refused(
        lambda: account_set_credit_limit(
            account_id=account.pk, credit_limit=1, actor=user_with("change_account_status")
        )
    )
    assert error.code == ErrorCode.PERMISSION_DENIED
    assert AuditEvent.objects.filter(outcome="PERMISSION_DENIED").count() == 2
    assert fresh(account).status == "ACTIVE" and fresh(account).credit_limit == 0


def test_close_only_an_empty_account_and_closed_is_final(settlement: Account) -> None:
    account, other = make_account(1_000), make_account(0)
    error = refused(lambda: account_close(account_id=account.pk, reason="x"))
    assert (error.code, error.field) == (ErrorCode.ACCOUNT_NOT_EMPTY, "accountId")
    transfer_create(spec=TransferSpec(account.pk, other.pk, 1_000, "PIX"))
    closed = account_close(account_id=account.pk, reason="customer asked")
    assert (closed.status, closed.status_reason, closed.closed_at is not None) == ("CLOSED", "customer asked", True)
    for run in (
        lambda: account_freeze(account_id=account.pk, reason="x"),
        lambda: account_unfreeze(account_id=account.pk, reason="x"),
        lambda: account_set_credit_limit(account_id=account.pk, credit_limit=0),
    ):
        assert refused(run).code == ErrorCode.ACCOUNT_CLOSED
    assert fresh(account).status == "CLOSED"
    assert_ledger_verifies()


def test_a_frozen_account_can_be_closed(settlement: Account) -> None:
    account = make_account(0)
    account_freeze(account_id=account.pk, reason="fraud")
    assert account_close(account_id=account.pk, reason="fraud confirmed").status == "CLOSED"


@pytest.mark.parametrize("side", ["sender", "receiver"])
def test_close_refuses_an_account_a_pending_transaction_names(settlement: Account, side: str) -> None:
    payer, payee = make_account(1_000), make_account(0)
    ted = transfer_create(spec=TransferSpec(payer.pk, payee.pk, 1_000, "TED")).transaction
    assert ted is not None
    target = payer if side == "sender" else payee  # the payee is empty: only the PENDING TED stops it
    assert refused(lambda: account_close(account_id=target.pk, reason="x")).code == ErrorCode.ACCOUNT_NOT_EMPTY
    transactions_settle_due()
    if side == "receiver":
        transfer_create(spec=TransferSpec(payee.pk, payer.pk, 1_000, "PIX"))
    account_close(account_id=target.pk, reason="now empty")


def test_close_refuses_an_account_with_money_held(settlement: Account) -> None:
    account, other = make_account(1_000), make_account(0)
    transfer_create(spec=manual(account, other, 1_000))
    transfer_create(spec=TransferSpec(account.pk, other.pk, 1, "PIX"))  # spendable 0: FAILED, nothing moves
    assert refused(lambda: account_close(account_id=account.pk, reason="x")).code == ErrorCode.ACCOUNT_NOT_EMPTY


# --- what each status allows -----------------------------------------------------------------


def test_a_frozen_account_cannot_send_but_can_receive(settlement: Account) -> None:
    frozen, other = make_account(5_000), make_account(5_000)
    account_freeze(account_id=frozen.pk, reason="court order")
    count = Transaction.objects.count()
    for kind in ("PIX", "TED", "DOC", "TRANSFER"):
        error = refused(lambda k=kind: transfer_create(spec=TransferSpec(frozen.pk, other.pk, 100, k)))
        assert (error.code, error.field) == (ErrorCode.ACCOUNT_FROZEN, "senderAccount")
    error = refused(lambda: transfer_create(spec=manual(frozen, other, 100)))
    assert error.code == ErrorCode.ACCOUNT_FROZEN
    results = transfer_batch_create(specs=[TransferSpec(frozen.pk, other.pk, 100, "PIX")])
    assert results[0].transaction is None and results[0].error is not None
    assert (results[0].error.code, results[0].error.field) == (ErrorCode.ACCOUNT_FROZEN, "senderAccount")
    assert Transaction.objects.count() == count  # nothing recorded
    transfer_create(spec=TransferSpec(other.pk, frozen.pk, 700, "PIX"))
    deposit_create(account_id=frozen.pk, amount=300)
    assert fresh(frozen).balance == 6_000


def test_what_a_frozen_account_held_before_the_freeze_still_settles_or_is_captured(settlement: Account) -> None:
    payer, payee = make_account(5_000), make_account(0)
    ted = transfer_create(spec=TransferSpec(payer.pk, payee.pk, 1_000, "TED")).transaction
    hold = transfer_create(spec=manual(payer, payee, 2_000)).transaction
    assert ted is not None and hold is not None
    account_freeze(account_id=payer.pk, reason="fraud alert")
    assert transaction_capture(transaction_id=hold.pk).status == "COMPLETED"
    assert transactions_settle_due() == 1
    assert (fresh(payer).balance, fresh(payee).balance) == (2_000, 3_000)


def test_a_closed_account_neither_sends_nor_receives(settlement: Account) -> None:
    closed, other = make_account(0), make_account(5_000)
    account_close(account_id=closed.pk, reason="closed")
    cases = [
        (lambda: transfer_create(spec=TransferSpec(closed.pk, other.pk, 1, "PIX")), "senderAccount"),
        (lambda: transfer_create(spec=TransferSpec(other.pk, closed.pk, 1, "PIX")), "receiverAccount"),
        (lambda: deposit_create(account_id=closed.pk, amount=1), "accountId"),
    ]
    for run, field in cases:
        error = refused(run)
        assert (error.code, error.field) == (ErrorCode.ACCOUNT_CLOSED, field)
    assert fresh(other).balance == 5_000


def test_input_checks_answer_before_status_and_status_before_funds(settlement: Account) -> None:
    frozen, closed = make_account(100), make_account(0)
    account_freeze(account_id=frozen.pk, reason="x")
    account_close(account_id=closed.pk, reason="x")
    same = refused(lambda: transfer_create(spec=TransferSpec(frozen.pk, frozen.pk, 10**6, "PIX")))
    assert same.code == ErrorCode.SAME_ACCOUNT
    amount = refused(lambda: transfer_create(spec=TransferSpec(frozen.pk, closed.pk, 0, "PIX")))
    assert amount.code == ErrorCode.INVALID_AMOUNT
    both = refused(lambda: transfer_create(spec=TransferSpec(frozen.pk, closed.pk, 10**6, "PIX")))
    assert (both.code, both.field) == (ErrorCode.ACCOUNT_CLOSED, "receiverAccount")  # CLOSED before FROZEN
    other = make_account(0)
    short = refused(lambda: transfer_create(spec=TransferSpec(frozen.pk, other.pk, 10**6, "PIX")))
    assert short.code == ErrorCode.ACCOUNT_FROZEN  # not INSUFFICIENT_FUNDS


# --- credit limits ---------------------------------------------------------------------------


def test_a_credit_limit_lets_debits_go_down_to_minus_the_limit_and_no_further(settlement: Account) -> None:
    account, other = make_account(1_000), make_account(0)
    staff = user_with("change_credit_limit")
    updated = account_set_credit_limit(account_id=account.pk, credit_limit=5_000, actor=staff)
    assert (updated.credit_limit, updated.spendable) == (5_000, 6_000)
    assert transfer_create(spec=TransferSpec(account.pk, other.pk, 6_000, "PIX")).transaction.status == "COMPLETED"  # type: ignore[union-attr]
    assert (fresh(account).balance, fresh(account).spendable) == (-5_000, 0)
    result = transfer_create(spec=TransferSpec(account.pk, other.pk, 1, "PIX"))
    assert result.error is not None and result.error.code == ErrorCode.INSUFFICIENT_FUNDS
    event = AuditEvent.objects.get(action="setCreditLimit")
    assert (event.payload, event.actor_label) == ({"old": 0, "new": 5_000}, staff.username)
    assert_ledger_verifies()


def test_holds_are_judged_by_spendable_too(settlement: Account) -> None:
    account, other = make_account(0), make_account(0)
    account_set_credit_limit(account_id=account.pk, credit_limit=2_000)
    ted = transfer_create(spec=TransferSpec(account.pk, other.pk, 2_000, "TED")).transaction
    assert ted is not None and ted.status == "PENDING"
    assert (fresh(account).available, fresh(account).spendable) == (-2_000, 0)
    assert_ledger_verifies()


def test_a_limit_below_what_the_account_uses_is_refused(settlement: Account) -> None:
    account, other = make_account(0), make_account(0)
    account_set_credit_limit(account_id=account.pk, credit_limit=3_000)
    transfer_create(spec=TransferSpec(account.pk, other.pk, 2_000, "PIX"))
    transfer_create(spec=manual(account, other, 500))  # uses 2,500 of the limit
    error = refused(lambda: account_set_credit_limit(account_id=account.pk, credit_limit=2_499))
    assert (error.code, error.field) == (ErrorCode.LIMIT_BELOW_USAGE, "creditLimit")
    assert fresh(account).credit_limit == 3_000
    account_set_credit_limit(account_id=account.pk, credit_limit=2_500)
    assert fresh(account).spendable == 0


@pytest.mark.parametrize("limit", [-1, 10**17])
def test_a_negative_or_huge_limit_is_invalid_amount(settlement: Account, limit: int) -> None:
    account = make_account(0)
    error = refused(lambda: account_set_credit_limit(account_id=account.pk, credit_limit=limit))
    assert (error.code, error.field) == (ErrorCode.INVALID_AMOUNT, "creditLimit")


def test_a_zero_limit_is_allowed(settlement: Account) -> None:
    account = make_account(0)
    account_set_credit_limit(account_id=account.pk, credit_limit=100)
    assert account_set_credit_limit(account_id=account.pk, credit_limit=0).credit_limit == 0
