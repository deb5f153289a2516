"""settle_transactions: due TED/DOC settle exactly once, by one worker or several, killed or stopped."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from django.core.management.base import CommandError
from django.db import OperationalError
from django.test import override_settings

from accounts.models import Account
from tests.commands.support import manage, many_pending, run, verify, wait_for_other_sessions_to_end
from tests.factories import make_account
from transactions.management.commands import settle_transactions as settle_command
from transactions.models import Entry, Transaction
from transactions.services import TransferSpec, transfer_create


def _create(sender: Account, receiver: Account, amount: int, kind: str) -> Transaction:
    tx = transfer_create(spec=TransferSpec(sender.pk, receiver.pk, amount, kind)).transaction
    assert tx is not None and tx.status == "PENDING"
    return tx


def _settled(output: str) -> int:
    match = re.search(r"settled (\d+) transaction", output)
    assert match, output
    return int(match.group(1))


@pytest.mark.django_db
def test_settle_transactions_settles_due_ted_and_doc(settlement: Account) -> None:
    a, b = make_account(100_000), make_account(0)
    ted, doc = _create(a, b, 1_000, "TED"), _create(a, b, 2_000, "DOC")
    a.refresh_from_db()
    assert (a.balance, a.held) == (100_000, 3_000)
    code, out, _ = run("settle_transactions")
    assert code == 0 and _settled(out) == 2, out
    for tx in (ted, doc):
        tx.refresh_from_db()
        assert tx.status == "COMPLETED" and tx.completed_at is not None
        assert sorted(tx.entries.values_list("amount", flat=True)) == [-tx.amount, tx.amount]
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.balance, a.held, b.balance) == (97_000, 0, 3_000)
    assert verify()[0] == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("setting", "kind", "other"), [("LEDGER_TED_DELAY", "TED", "DOC"), ("LEDGER_DOC_DELAY", "DOC", "TED")]
)
def test_settle_transactions_leaves_what_is_not_due_yet(
    settlement: Account, setting: str, kind: str, other: str
) -> None:
    a, b = make_account(100_000), make_account(0)
    with override_settings(**{setting: 3600}):
        later, now = _create(a, b, 1_000, kind), _create(a, b, 2_000, other)
    code, out, _ = run("settle_transactions")
    assert code == 0 and _settled(out) == 1
    later.refresh_from_db()
    now.refresh_from_db()
    assert (later.status, now.status) == ("PENDING", "COMPLETED")
    assert not later.entries.exists()
    a.refresh_from_db()
    assert a.held == 1_000  # the hold stays until it settles
    assert verify()[0] == 0


@pytest.mark.django_db
def test_a_pending_transaction_settles_once_its_delay_has_passed(settlement: Account) -> None:
    a, b = make_account(100_000), make_account(0)
    with override_settings(LEDGER_TED_DELAY=1):
        ted = _create(a, b, 1_000, "TED")
    assert _settled(run("settle_transactions")[1]) == 0
    time.sleep(1.1)
    assert _settled(run("settle_transactions")[1]) == 1
    ted.refresh_from_db()
    assert ted.status == "COMPLETED"


@pytest.mark.django_db
def test_small_batches_settle_everything_in_one_pass(settlement: Account) -> None:
    a, b = make_account(100_000), make_account(0)
    for _ in range(7):
        _create(a, b, 100, "TED")
    code, out, _ = run("settle_transactions", "--batch", "3")
    assert code == 0 and _settled(out) == 7
    assert not Transaction.objects.filter(status="PENDING").exists()


@pytest.mark.parametrize(("args", "message"), [(["--batch", "0"], "--batch"), (["--interval", "0"], "--interval")])
def test_settle_transactions_refuses_nonsense_arguments(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run("settle_transactions", *args)


# --- Workers as real OS processes (PostgreSQL: SKIP LOCKED, commits seen across processes) -----------


@pytest.mark.postgres_only
@pytest.mark.usefixtures("live_db")
def test_two_settlement_workers_settle_each_transaction_exactly_once() -> None:
    sender, _ = many_pending(6000)
    workers = [manage("settle_transactions", "--batch", "25") for _ in range(2)]
    outputs = [worker.communicate(timeout=180) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    settled = [_settled(out) for out, _ in outputs]
    assert sum(settled) == 6000, settled  # nobody settled a row twice, nobody skipped one
    assert all(n > 0 for n in settled), settled  # both took part: SKIP LOCKED shared the queue
    assert Transaction.objects.filter(type="TED", status="COMPLETED").count() == 6000
    assert Entry.objects.filter(transaction__type="TED").count() == 12_000
    sender.refresh_from_db()
    assert sender.held == 0
    assert verify()[0] == 0


@pytest.mark.postgres_only
@pytest.mark.usefixtures("live_db")
def test_a_worker_killed_mid_pass_leaves_nothing_half_done() -> None:
    sender, _ = many_pending(6000)
    worker = manage("settle_transactions", "--batch", "20")
    deadline = time.monotonic() + 60
    while not Transaction.objects.filter(type="TED", status="COMPLETED").exists():
        assert time.monotonic() < deadline, "the worker never started settling"
        time.sleep(0.02)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    assert worker.returncode == -signal.SIGKILL
    wait_for_other_sessions_to_end()  # its server process rolls back (or finishes a COMMIT already sent)

    completed = Transaction.objects.filter(type="TED", status="COMPLETED")
    pending = Transaction.objects.filter(type="TED", status="PENDING")
    assert 0 < completed.count() < 6000, completed.count()  # killed mid-pass
    assert completed.count() + pending.count() == 6000
    # Fully COMPLETED with its two entries, or fully PENDING with its hold and none.
    assert Entry.objects.filter(transaction__in=completed).count() == 2 * completed.count()
    assert not Entry.objects.filter(transaction__in=pending).exists()
    sender.refresh_from_db()
    assert sender.held == 100 * pending.count()
    assert verify()[0] == 0

    left = pending.count()
    finisher = manage("settle_transactions")
    out, err = finisher.communicate(timeout=120)
    assert finisher.returncode == 0, err
    assert _settled(out) == left
    assert not pending.exists()
    assert verify()[0] == 0


@pytest.mark.postgres_only
@pytest.mark.usefixtures("live_db")
def test_a_looping_worker_settles_new_work_and_stops_cleanly_on_sigterm() -> None:
    a, b = make_account(100_000), make_account(0)
    worker = manage("settle_transactions", "--loop", "--interval", "0.1")
    try:
        ted = _create(a, b, 1_000, "TED")
        deadline = time.monotonic() + 60
        while Transaction.objects.get(pk=ted.pk).status == "PENDING":
            assert time.monotonic() < deadline, "the worker never settled the TED"
            time.sleep(0.05)
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert "settlement worker started" in out
    assert "settlement worker stopped: settled 1 transaction(s)" in out, out
    assert verify()[0] == 0


@pytest.mark.postgres_only
@pytest.mark.usefixtures("live_db")
def test_sigterm_stops_a_worker_after_its_current_step_not_after_the_backlog() -> None:
    sender, _ = many_pending(6000)
    worker = manage("settle_transactions", "--loop", "--batch", "10")
    deadline = time.monotonic() + 60
    while not Transaction.objects.filter(type="TED", status="COMPLETED").exists():
        assert time.monotonic() < deadline, "the worker never started settling"
        time.sleep(0.02)
    worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    completed = Transaction.objects.filter(type="TED", status="COMPLETED").count()
    assert completed < 6000, "it should have stopped long before the backlog was done"
    assert f"settled {completed} transaction(s) since it started" in out, out
    sender.refresh_from_db()
    assert sender.held == 100 * (6000 - completed)
    assert verify()[0] == 0


# --- Errors: one line outside --loop; a looping worker outlives them ----------------------


def test_a_database_error_outside_loop_is_one_line_and_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**kwargs: object) -> int:
        raise OperationalError("server closed the connection unexpectedly\n\tThis probably means ...")

    monkeypatch.setattr(settle_command, "transactions_settle_due", broken)
    with pytest.raises(
        CommandError, match=r"^database error, nothing half done: server closed the connection unexpectedly$"
    ):
        run("settle_transactions")


def test_a_looping_worker_logs_a_database_error_and_carries_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def flaky(*, limit: int, batch_size: int) -> int:
        calls.append(limit)
        if len(calls) == 1:
            raise OperationalError("the database is restarting")
        if len(calls) == 2:
            return 1
        os.kill(os.getpid(), signal.SIGTERM)  # as docker stop would; the handler lets this step finish
        return 0

    monkeypatch.setattr(settle_command, "transactions_settle_due", flaky)
    previous = signal.getsignal(signal.SIGTERM)
    code, out, _ = run("settle_transactions", "--loop", "--interval", "0.01", "--batch", "7")
    assert code == 0
    assert calls == [7, 7, 7]
    assert "settlement pass failed, retrying" in caplog.text
    assert out.strip().splitlines()[-1] == "settlement worker stopped: settled 1 transaction(s) since it started"
    assert signal.getsignal(signal.SIGTERM) is previous  # handlers are put back
