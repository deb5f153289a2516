"""Races with real threads against PostgreSQL: the guarantees hold under contention."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from django.db import connection

from accounts.models import Account
from accounts.services import account_create
from core.counters import TRANSACTIONS, counter_total
from core.db import is_retryable
from core.errors import ErrorCode, LedgerError
from tests.factories import make_account, valid_cpf
from tests.ledger_checks import assert_books_balance
from transactions.models import Transaction
from transactions.services import TransferSpec, transaction_reverse, transfer_create

pytestmark = [pytest.mark.postgres_only, pytest.mark.usefixtures("live_db")]
T = TypeVar("T")


def in_threads(count: int, work: Callable[[int], T]) -> list[T | BaseException]:
    """Runs ``work(i)`` in ``count`` threads released at once; each closes its own connection."""
    barrier = threading.Barrier(count)

    def run(i: int) -> T | BaseException:
        try:
            barrier.wait()
            return work(i)
        except BaseException as error:  # collected and asserted on by the test
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_transfer_never_overdraws_under_20_threads_with_a_hot_sender() -> None:
    accounts = [make_account(50_000) for _ in range(10)]
    hot = accounts[0]
    rng = random.Random(7)
    plans = []
    for _ in range(500):
        sender = hot if rng.random() < 0.5 else rng.choice(accounts)
        receiver = rng.choice([a for a in accounts if a.pk != sender.pk])
        plans.append(TransferSpec(sender.pk, receiver.pk, rng.randint(1, 9_000), rng.choice(["PIX", "TRANSFER"])))
    chunks = [plans[i::20] for i in range(20)]

    def work(i: int) -> list[tuple[int, str]]:
        return [(s.amount, transfer_create(spec=s).transaction.status) for s in chunks[i]]  # type: ignore[union-attr]

    outcomes = in_threads(20, work)
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    flat = [item for chunk in outcomes for item in chunk]  # type: ignore[union-attr]
    assert len(flat) == 500
    completed = [amount for amount, status in flat if status == "COMPLETED"]
    assert {status for _, status in flat} <= {"COMPLETED", "FAILED"}
    assert Transaction.objects.filter(type__in=["PIX", "TRANSFER"], status="COMPLETED").count() == len(completed)
    assert sum(
        Transaction.objects.filter(type__in=["PIX", "TRANSFER"], status="COMPLETED").values_list("amount", flat=True)
    ) == sum(completed)
    # Money only moved between the ten: their total is what was deposited.
    assert sum(Account.objects.filter(pk__in=[a.pk for a in accounts]).values_list("balance", flat=True)) == 500_000
    assert counter_total(TRANSACTIONS) == Transaction.objects.count()
    assert_books_balance()


def test_opposite_transfers_200_times_at_once_never_deadlock_for_the_caller() -> None:
    a, b = make_account(1_000_000), make_account(1_000_000)

    def work(i: int) -> str:
        sender, receiver = (a, b) if i % 2 == 0 else (b, a)
        statuses = []
        for _ in range(20):
            result = transfer_create(spec=TransferSpec(sender.pk, receiver.pk, 100, "PIX"))
            statuses.append(result.transaction.status)  # type: ignore[union-attr]
        return ",".join(set(statuses))

    outcomes = in_threads(10, work)  # 10 threads x 20 = 200 transfers, half each way
    assert outcomes == ["COMPLETED"] * 10
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.balance, b.balance) == (1_000_000, 1_000_000)
    assert_books_balance()


def test_twenty_threads_with_one_idempotency_key_make_one_transaction() -> None:
    a, b = make_account(100_000), make_account(0)

    def work(_: int) -> int:
        return transfer_create(spec=TransferSpec(a.pk, b.pk, 1_234, "PIX", idempotency_key="once")).transaction.pk  # type: ignore[union-attr]

    outcomes = in_threads(20, work)
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert len(set(outcomes)) == 1
    assert Transaction.objects.filter(idempotency_key="once").count() == 1
    b.refresh_from_db()
    assert b.balance == 1_234


def test_two_requests_with_one_document_make_one_account() -> None:
    document = valid_cpf()
    outcomes = in_threads(8, lambda i: account_create(name=f"Gêmeo {i}", document=document))
    created = [o for o in outcomes if isinstance(o, Account)]
    refused = [o for o in outcomes if isinstance(o, LedgerError)]
    assert len(created) == 1
    assert len(refused) == 7 and {e.code for e in refused} == {ErrorCode.DUPLICATE_DOCUMENT}
    assert Account.objects.filter(document=document).count() == 1


def test_racing_reversals_reverse_exactly_once() -> None:
    a, b = make_account(10_000), make_account(10_000)
    tx = transfer_create(spec=TransferSpec(a.pk, b.pk, 5_000, "PIX")).transaction
    assert tx is not None
    outcomes = in_threads(10, lambda _: transaction_reverse(transaction_id=tx.pk))
    wins = [o for o in outcomes if isinstance(o, tuple)]
    losses = [o for o in outcomes if isinstance(o, LedgerError)]
    assert len(wins) == 1
    assert len(losses) == 9 and {e.code for e in losses} == {ErrorCode.ALREADY_REVERTED}
    assert Transaction.objects.filter(reverses=tx).count() == 1
    assert_books_balance()


def _serializable_ping_pong(a: Account, b: Account) -> list[list[str] | BaseException]:
    """8 threads under SERIALIZABLE moving 10 centavos back and forth between two accounts."""

    def work(i: int) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        sender, receiver = (a, b) if i % 2 == 0 else (b, a)
        return [
            transfer_create(spec=TransferSpec(sender.pk, receiver.pk, 10, "PIX")).transaction.status  # type: ignore[union-attr]
            for _ in range(15)
        ]

    return in_threads(8, work)


def test_serialization_failures_are_retried_and_never_reach_the_caller() -> None:
    """Under SERIALIZABLE (the CockroachDB mode), conflicts abort with 40001; the services retry them."""
    from core import metrics

    a, b = make_account(1_000_000), make_account(1_000_000)
    retries_before = metrics.RETRIES.labels("transfer")._value.get()

    outcomes = _serializable_ping_pong(a, b)
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert all(status == "COMPLETED" for chunk in outcomes for status in chunk)  # type: ignore[union-attr]
    assert metrics.RETRIES.labels("transfer")._value.get() > retries_before
    assert_books_balance()


def test_without_a_retry_budget_serialization_failures_reach_the_caller(settings: Any) -> None:
    """The workload above does conflict: with no time to retry, the 40001 comes through."""
    settings.LEDGER_RETRY_BUDGET_MS = 0
    a, b = make_account(1_000_000), make_account(1_000_000)

    outcomes = _serializable_ping_pong(a, b)
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert failures and all(is_retryable(f) for f in failures), outcomes
    assert_books_balance()
