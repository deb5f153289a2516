"""Holds the client captures (money-controls.md, first section): authorize, then capture, void or let lapse.

Non-concurrent: these run on PostgreSQL and SQLite alike. The races are in
test_money_control_races.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.models import Account
from audit.models import AuditEvent
from core.errors import ErrorCode
from tests.factories import make_account
from tests.ledger_checks import assert_books_balance, assert_ledger_verifies
from tests.support_money import expire_now, manual, refused
from transactions.models import Transaction
from transactions.services import (
    TransferSpec,
    transaction_cancel,
    transaction_capture,
    transactions_settle_due,
    transfer_batch_create,
    transfer_create,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(settlement: Account) -> tuple[Account, Account]:
    return make_account(10_000), make_account(0)


def refresh(*accounts: Account) -> list[Account]:
    return [Account.objects.get(pk=a.pk) for a in accounts]


# --- creating a hold -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["PIX", "TRANSFER"])
def test_a_manual_transaction_is_pending_held_without_entries_and_expires_in_7_days(
    pair: tuple[Account, Account], kind: str
) -> None:
    a, b = pair
    before = timezone.now()
    tx = transfer_create(spec=manual(a, b, 3_000, kind)).transaction
    assert tx is not None
    stored = Transaction.objects.get(pk=tx.pk)
    assert (stored.status, stored.capture_mode, stored.captured_amount, stored.due_at) == (
        "PENDING",
        "MANUAL",
        None,
        None,
    )
    assert stored.entries.count() == 0
    assert stored.hold_expires_at == stored.created_at + timedelta(days=7)
    assert stored.created_at >= before
    a, b = refresh(a, b)
    assert (a.balance, a.available, b.balance) == (10_000, 7_000, 0)
    assert_ledger_verifies()


def test_the_default_hold_lasts_ledger_hold_ttl(pair: tuple[Account, Account], settings: Any) -> None:
    settings.LEDGER_HOLD_TTL = 3600
    tx = transfer_create(spec=manual(*pair, 100)).transaction
    assert tx is not None and tx.hold_expires_at == tx.created_at + timedelta(hours=1)


def test_a_chosen_expiry_is_kept(pair: tuple[Account, Account]) -> None:
    at = timezone.now() + timedelta(days=30) - timedelta(minutes=1)
    tx = transfer_create(spec=manual(*pair, 100, expires=at)).transaction
    assert tx is not None and Transaction.objects.get(pk=tx.pk).hold_expires_at == at


@pytest.mark.parametrize("kind", ["TED", "DOC"])
def test_manual_is_refused_for_ted_and_doc(pair: tuple[Account, Account], kind: str) -> None:
    error = refused(lambda: transfer_create(spec=manual(*pair, 100, kind)))
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "captureMode")
    assert not Transaction.objects.filter(type=kind).exists()


@pytest.mark.parametrize(
    ("mode", "offset"),
    [
        ("AUTOMATIC", timedelta(days=1)),  # an expiry without MANUAL
        ("MANUAL", -timedelta(seconds=1)),  # in the past
        ("MANUAL", timedelta(days=30, minutes=1)),  # more than 30 days ahead
    ],
)
def test_a_bad_hold_expiry_is_invalid_input(pair: tuple[Account, Account], mode: str, offset: timedelta) -> None:
    a, b = pair
    spec = TransferSpec(a.pk, b.pk, 100, "PIX", capture_mode=mode, hold_expires_at=timezone.now() + offset)
    count = Transaction.objects.count()
    error = refused(lambda: transfer_create(spec=spec))
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "holdExpiresAt")
    assert Transaction.objects.count() == count


def test_a_manual_transaction_short_of_funds_fails_like_any_transfer(pair: tuple[Account, Account]) -> None:
    a, b = pair
    result = transfer_create(spec=manual(a, b, 10_001))
    assert result.transaction is not None and result.error is not None
    assert (result.transaction.status, result.transaction.failure_reason) == ("FAILED", "INSUFFICIENT_FUNDS")
    assert result.error.code == ErrorCode.INSUFFICIENT_FUNDS
    assert refresh(a)[0].held == 0


def test_batch_items_may_be_manual(pair: tuple[Account, Account]) -> None:
    a, b = pair
    results = transfer_batch_create(specs=[manual(a, b, 100), TransferSpec(a.pk, b.pk, 200, "PIX")])
    assert [r.transaction.status for r in results if r.transaction] == ["PENDING", "COMPLETED"]
    assert [r.transaction.capture_mode for r in results if r.transaction] == ["MANUAL", "AUTOMATIC"]
    assert refresh(a)[0].held == 100


def test_automatic_transactions_capture_their_amount_when_completed_and_nothing_else(
    pair: tuple[Account, Account],
) -> None:
    a, b = pair
    pix = transfer_create(spec=TransferSpec(a.pk, b.pk, 100, "PIX")).transaction
    ted = transfer_create(spec=TransferSpec(a.pk, b.pk, 200, "TED")).transaction
    failed = transfer_create(spec=TransferSpec(a.pk, b.pk, 10**9, "PIX")).transaction
    assert pix is not None and ted is not None and failed is not None
    assert [(t.hold_expires_at, t.captured_amount) for t in (pix, ted, failed)] == [
        (None, 100),
        (None, None),
        (None, None),
    ]
    transactions_settle_due()
    assert Transaction.objects.get(pk=ted.pk).captured_amount == 200


# --- capture ---------------------------------------------------------------------------------


def test_a_full_capture_posts_the_amount_and_releases_the_hold(pair: tuple[Account, Account]) -> None:
    a, b = pair
    hold = transfer_create(spec=manual(a, b, 3_000)).transaction
    assert hold is not None
    captured = transaction_capture(transaction_id=hold.pk)
    stored = Transaction.objects.get(pk=hold.pk)
    assert (stored.status, stored.captured_amount, captured.captured_amount) == ("COMPLETED", 3_000, 3_000)
    assert stored.completed_at is not None
    assert sorted(stored.entries.values_list("amount", flat=True)) == [-3_000, 3_000]
    a, b = refresh(a, b)
    assert (a.balance, a.held, b.balance) == (7_000, 0, 3_000)
    event = AuditEvent.objects.get(action="captureTransaction", object_id=str(hold.pk))
    assert (event.outcome, event.payload) == ("COMPLETED", {"held": 3_000, "captured": 3_000})
    assert_books_balance()
    assert_ledger_verifies()


def test_a_partial_capture_moves_less_and_gives_the_rest_of_the_hold_back(pair: tuple[Account, Account]) -> None:
    a, b = pair
    hold = transfer_create(spec=manual(a, b, 3_000)).transaction
    assert hold is not None
    transaction_capture(transaction_id=hold.pk, amount=1_250)
    stored = Transaction.objects.get(pk=hold.pk)
    assert (stored.amount, stored.captured_amount) == (3_000, 1_250)
    assert sorted(stored.entries.values_list("amount", flat=True)) == [-1_250, 1_250]
    a, b = refresh(a, b)
    assert (a.balance, a.held, a.available, b.balance) == (8_750, 0, 8_750, 1_250)
    assert_ledger_verifies()


def test_capturing_more_than_held_is_amount_too_large_and_changes_nothing(pair: tuple[Account, Account]) -> None:
    a, b = pair
    hold = transfer_create(spec=manual(a, b, 3_000)).transaction
    assert hold is not None
    error = refused(lambda: transaction_capture(transaction_id=hold.pk, amount=3_001))
    assert (error.code, error.field) == (ErrorCode.AMOUNT_TOO_LARGE, "amount")
    assert Transaction.objects.get(pk=hold.pk).status == "PENDING"
    assert refresh(a)[0].held == 3_000
    assert AuditEvent.objects.filter(action="captureTransaction", outcome="AMOUNT_TOO_LARGE").count() == 1


def test_only_a_pending_manual_transaction_is_capturable(pair: tuple[Account, Account]) -> None:
    a, b = pair
    pix = transfer_create(spec=TransferSpec(a.pk, b.pk, 100, "PIX")).transaction
    ted = transfer_create(spec=TransferSpec(a.pk, b.pk, 100, "TED")).transaction
    hold = transfer_create(spec=manual(a, b, 100)).transaction
    assert pix is not None and ted is not None and hold is not None
    transaction_capture(transaction_id=hold.pk)
    for tx in (pix, ted, hold):  # COMPLETED; PENDING but AUTOMATIC; already captured
        error = refused(lambda tx=tx: transaction_capture(transaction_id=tx.pk))
        assert (error.code, error.field) == (ErrorCode.NOT_CAPTURABLE, "transactionId")
    assert Transaction.objects.get(pk=ted.pk).status == "PENDING"


def test_capturing_an_unknown_transaction_is_not_found(settlement: Account) -> None:
    error = refused(lambda: transaction_capture(transaction_id=10**9))
    assert error.code == ErrorCode.TRANSACTION_NOT_FOUND


def test_a_capture_at_or_after_hold_expires_at_is_hold_expired_and_changes_nothing(
    pair: tuple[Account, Account],
) -> None:
    a, b = pair
    hold = transfer_create(spec=manual(a, b, 3_000)).transaction
    assert hold is not None
    expire_now(hold)
    error = refused(lambda: transaction_capture(transaction_id=hold.pk))
    assert (error.code, error.field) == (ErrorCode.HOLD_EXPIRED, "transactionId")
    stored = Transaction.objects.get(pk=hold.pk)
    assert (stored.status, stored.captured_amount) == ("PENDING", None)
    assert refresh(a)[0].held == 3_000


def test_a_capture_with_an_idempotency_key_replays_and_refuses_a_different_input(
    pair: tuple[Account, Account],
) -> None:
    a, b = pair
    hold = transfer_create(spec=manual(a, b, 3_000)).transaction
    other = transfer_create(spec=manual(a, b, 1_000)).transaction
    assert hold is not None and other is not None
    first = transaction_capture(transaction_id=hold.pk, amount=2_000, idempotency_key="cap-1")
    again = transaction_capture(transaction_id=hold.pk, amount=2_000, idempotency_key="cap-1")
    assert (again.pk, again.captured_amount) == (first.pk, 2_000)
    assert refresh(b)[0].balance == 2_000  # moved once
    different = refused(lambda: transaction_capture(transaction_id=hold.pk, amount=1_000, idempotency_key="cap-1"))
    assert different.code == ErrorCode.IDEMPOTENCY_KEY_REUSED
    elsewhere = refused(lambda: transaction_capture(transaction_id=other.pk, idempotency_key="cap-1"))
    assert elsewhere.code == ErrorCode.IDEMPOTENCY_KEY_REUSED
    assert Transaction.objects.get(pk=other.pk).status == "PENDING"


# --- void and expiry -------------------------------------------------------------------------


def test_cancel_voids_a_manual_hold(pair: tuple[Account, Account]) -> None:
    a, b = pair
    hold = transfer_create(spec=manual(a, b, 3_000)).transaction
    assert hold is not None
    transaction_cancel(transaction_id=hold.pk)
    stored = Transaction.objects.get(pk=hold.pk)
    assert (stored.status, stored.failure_reason, stored.captured_amount) == ("FAILED", "CANCELLED", None)
    assert refresh(a)[0].held == 0
    assert refused(lambda: transaction_capture(transaction_id=hold.pk)).code == ErrorCode.NOT_CAPTURABLE


def test_settlement_expires_a_lapsed_hold_and_never_captures_one(pair: tuple[Account, Account]) -> None:
    a, b = pair
    lapsed = transfer_create(spec=manual(a, b, 3_000)).transaction
    live = transfer_create(spec=manual(a, b, 1_000)).transaction
    ted = transfer_create(spec=TransferSpec(a.pk, b.pk, 500, "TED")).transaction
    assert lapsed is not None and live is not None and ted is not None
    expire_now(lapsed)
    assert transactions_settle_due() == 2  # the TED settles, the lapsed hold expires
    stored = {t.pk: t for t in Transaction.objects.filter(pk__in=[lapsed.pk, live.pk, ted.pk])}
    assert (stored[lapsed.pk].status, stored[lapsed.pk].failure_reason) == ("FAILED", "EXPIRED")
    assert stored[lapsed.pk].entries.count() == 0
    assert stored[live.pk].status == "PENDING"
    assert stored[ted.pk].status == "COMPLETED"  # TED/DOC settlement unchanged
    a, b = refresh(a, b)
    assert (a.balance, a.held, b.balance) == (9_500, 1_000, 500)
    event = AuditEvent.objects.get(action="expireHold", object_id=str(lapsed.pk))
    assert (event.outcome, event.actor_label) == ("EXPIRED", "system:settle")
    assert transactions_settle_due() == 0  # once
    assert_ledger_verifies()


@pytest.mark.parametrize(
    ("column", "value"),
    [("capture_mode", "'AUTOMATIC'"), ("hold_expires_at", "NULL"), ("hold_expires_at", "'2999-01-01 00:00:00+00'")],
)
def test_the_database_refuses_to_change_a_holds_terms(pair: tuple[Account, Account], column: str, value: str) -> None:
    """A hold's capture mode and expiry are set at creation: not even a raw UPDATE moves them."""
    a, b = pair
    held = transfer_create(spec=manual(a, b, 500)).transaction
    assert held is not None
    with (
        pytest.raises(DatabaseError, match="never changes its capture mode or hold expiry"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"UPDATE transactions_transaction SET {column} = {value} WHERE id = %s", [held.pk])
    stored = Transaction.objects.get(pk=held.pk)
    assert (stored.capture_mode, stored.hold_expires_at) == ("MANUAL", held.hold_expires_at)
