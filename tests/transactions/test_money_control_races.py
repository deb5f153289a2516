"""Money controls under races, with real threads against PostgreSQL (money-controls.md and issue 11, item 6)."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from accounts.models import Account
from core.errors import ErrorCode, LedgerError
from tests.factories import make_account
from tests.ledger_checks import assert_books_balance, assert_ledger_verifies
from tests.support_money import expire_now, manual
from tests.transactions.test_races import in_threads
from transactions.models import Entry, Transaction
from transactions.services import (
    TransferSpec,
    account_freeze,
    account_set_credit_limit,
    transaction_cancel,
    transaction_capture,
    transaction_reverse,
    transactions_settle_due,
    transfer_create,
)

pytestmark = [pytest.mark.postgres_only, pytest.mark.usefixtures("live_db")]


def outcome(run: Any) -> Any:
    """What the call returned, or the code of the LedgerError it raised."""
    try:
        return run()
    except LedgerError as error:
        return error.code


def _call(calls: list[Callable[[], Any]], i: int) -> Any:
    return outcome(calls[i])


def test_capture_cancel_and_expiry_racing_on_one_hold_exactly_one_wins_and_the_hold_is_released_once() -> None:
    payer, payee = make_account(100_000), make_account(0)
    rounds = 12
    for round_ in range(rounds):
        hold = transfer_create(spec=manual(payer, payee, 1_000)).transaction
        assert hold is not None
        if round_ % 2:  # half the holds have lapsed: the worker may expire them, a capture may not take them
            expire_now(hold)
        pk = hold.pk
        calls: list[Callable[[], Any]] = [
            partial(transaction_capture, transaction_id=pk),
            partial(transaction_cancel, transaction_id=pk),
            transactions_settle_due,
        ]
        captured, cancelled, expired = in_threads(3, partial(_call, calls))
        stored = Transaction.objects.get(pk=hold.pk)
        won = [isinstance(captured, Transaction), isinstance(cancelled, Transaction), expired == 1]
        assert won.count(True) == 1, (captured, cancelled, expired)
        assert captured in (ErrorCode.NOT_CAPTURABLE, ErrorCode.HOLD_EXPIRED) or won[0], captured
        assert cancelled == ErrorCode.NOT_CANCELLABLE or won[1], cancelled
        assert expired in (0, 1)
        expected = ("COMPLETED", None) if won[0] else ("FAILED", "CANCELLED" if won[1] else "EXPIRED")
        assert (stored.status, stored.failure_reason) == expected
        if round_ % 2:
            assert not won[0], "a lapsed hold was captured"
        assert Account.objects.get(pk=payer.pk).held == 0  # released exactly once: never negative, never left
    moved = Transaction.objects.filter(sender=payer, status="COMPLETED").aggregate(total=Sum("captured_amount"))
    assert Account.objects.get(pk=payer.pk).balance == 100_000 - (moved["total"] or 0)
    assert_books_balance()
    assert_ledger_verifies()


def test_20_racing_partial_reversals_never_exceed_the_captured_amount() -> None:
    customer, merchant = make_account(10_000), make_account(0)
    payment = transfer_create(spec=TransferSpec(customer.pk, merchant.pk, 10_000, "PIX")).transaction
    assert payment is not None
    results = in_threads(20, lambda i: outcome(lambda: transaction_reverse(transaction_id=payment.pk, amount=1_500)))
    done = [r for r in results if isinstance(r, tuple)]
    assert len(done) == 6  # 6 x 1,500 = 9,000; a seventh would pass 10,000
    assert {r for r in results if not isinstance(r, tuple)} == {ErrorCode.AMOUNT_TOO_LARGE}
    stored = Transaction.objects.get(pk=payment.pk)
    reversals = stored.reversals.aggregate(total=Sum("amount"))["total"]
    assert (stored.reversed_amount, reversals, stored.status) == (9_000, 9_000, "COMPLETED")
    rest = in_threads(20, lambda i: outcome(lambda: transaction_reverse(transaction_id=payment.pk)))
    assert len([r for r in rest if isinstance(r, tuple)]) == 1  # the 1,000 that remained, once
    assert {r for r in rest if not isinstance(r, tuple)} == {ErrorCode.ALREADY_REVERTED}
    stored = Transaction.objects.get(pk=payment.pk)
    assert (stored.reversed_amount, stored.status) == (10_000, "REVERTED")
    assert Account.objects.get(pk=merchant.pk).balance == 0
    assert_ledger_verifies()


def test_the_database_refuses_reversing_more_than_was_captured() -> None:
    customer, merchant = make_account(10_000), make_account(0)
    payment = transfer_create(spec=TransferSpec(customer.pk, merchant.pk, 10_000, "PIX")).transaction
    assert payment is not None
    with pytest.raises(IntegrityError, match="transaction_reversed_within_captured"), transaction.atomic():
        Transaction.objects.filter(pk=payment.pk).update(reversed_amount=10_001)


def test_after_a_freeze_commits_no_debit_commits() -> None:
    frozen, other = make_account(1_000_000), make_account(0)
    stop, frozen_at = threading.Event(), []

    def hammer(i: int) -> list[Any]:
        seen = []
        while not stop.is_set():
            seen.append(outcome(lambda: transfer_create(spec=TransferSpec(frozen.pk, other.pk, 10, "PIX"))))
        return seen

    def freeze() -> None:
        try:
            threading.Event().wait(0.3)  # let the transfers flow first
            frozen_at.append(account_freeze(account_id=frozen.pk, reason="court order").entry_count)
            threading.Event().wait(0.3)  # and keep trying after
        finally:
            stop.set()
            connection.close()

    freezer = threading.Thread(target=freeze)
    freezer.start()
    results = in_threads(8, hammer)
    freezer.join(10)
    (cut,) = frozen_at  # the account's last entry when the freeze held its lock
    after = Entry.objects.filter(account=frozen, sequence__gt=cut)
    assert not after.filter(amount__lt=0).exists(), "a debit committed after the freeze"
    outcomes = [r for batch in results for r in batch]  # type: ignore[union-attr]
    assert ErrorCode.ACCOUNT_FROZEN in outcomes, "no transfer raced the freeze"
    assert any(not isinstance(r, ErrorCode) for r in outcomes)
    stored = Account.objects.get(pk=frozen.pk)
    assert stored.entry_count == cut + after.count() and stored.status == "FROZEN"
    assert_ledger_verifies()


def test_an_overdraft_account_hammered_by_20_threads_never_goes_below_minus_its_limit() -> None:
    account, sink = make_account(1_000), make_account(0)
    account_set_credit_limit(account_id=account.pk, credit_limit=5_000)
    rng = random.Random(11)
    plans = [[rng.randint(1, 900) for _ in range(8)] for _ in range(20)]

    def spend(i: int) -> list[tuple[int, str]]:
        done = []
        for amount in plans[i]:
            kind = "PIX" if amount % 3 else "TED"  # holds count against the limit too
            tx = transfer_create(spec=TransferSpec(account.pk, sink.pk, amount, kind)).transaction
            assert tx is not None
            done.append((amount, tx.status))
        return done

    results = in_threads(20, spend)
    assert not [r for r in results if isinstance(r, BaseException)], results
    outcomes = [item for batch in results for item in batch]  # type: ignore[union-attr]
    stored = Account.objects.get(pk=account.pk)
    assert stored.balance >= -5_000 and stored.available >= -5_000
    completed = sum(a for a, status in outcomes if status == "COMPLETED")
    held = sum(a for a, status in outcomes if status == "PENDING")
    assert (stored.balance, stored.held) == (1_000 - completed, held)
    assert any(status == "FAILED" for _, status in outcomes), "the limit was never reached"
    assert Transaction.objects.filter(sender=account, status="FAILED").count() == sum(
        1 for _, status in outcomes if status == "FAILED"
    )
    transactions_settle_due()
    assert Account.objects.get(pk=account.pk).balance >= -5_000
    assert_books_balance()
    assert_ledger_verifies()


def test_two_captures_racing_exactly_one_wins_the_other_is_not_capturable() -> None:
    payer, payee = make_account(10_000), make_account(0)
    for _ in range(5):
        hold = transfer_create(spec=manual(payer, payee, 1_000)).transaction
        assert hold is not None
        pk = hold.pk
        capture = partial(transaction_capture, transaction_id=pk)
        results = in_threads(2, partial(_call, [capture, capture]))
        assert sorted(isinstance(r, Transaction) for r in results) == [False, True], results
        assert ErrorCode.NOT_CAPTURABLE in results
    assert (Account.objects.get(pk=payer.pk).balance, Account.objects.get(pk=payer.pk).held) == (5_000, 0)
    assert_ledger_verifies()


def test_several_settlement_workers_expire_each_lapsed_hold_exactly_once() -> None:
    payer, payee = make_account(100_000), make_account(0)
    holds = [transfer_create(spec=manual(payer, payee, 100)).transaction for _ in range(30)]
    for hold in holds:
        assert hold is not None
        expire_now(hold)
    counts = in_threads(4, lambda i: transactions_settle_due(batch_size=3))
    assert sum(counts) == 30, counts  # type: ignore[arg-type]
    assert Transaction.objects.filter(sender=payer, failure_reason="EXPIRED").count() == 30
    assert Account.objects.get(pk=payer.pk).held == 0
    assert AuditEventCount.expired() == 30
    assert_ledger_verifies()


def test_the_database_refuses_a_customer_row_below_minus_its_credit_limit() -> None:
    account = make_account(0)
    account_set_credit_limit(account_id=account.pk, credit_limit=1_000)
    with pytest.raises(IntegrityError, match="account_customer_within_credit_limit"), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(balance=-1_001)
    with pytest.raises(IntegrityError, match="account_customer_within_credit_limit"), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(held=1_001)


class AuditEventCount:
    @staticmethod
    def expired() -> int:
        from audit.models import AuditEvent

        return AuditEvent.objects.filter(action="expireHold", outcome="EXPIRED").count()
