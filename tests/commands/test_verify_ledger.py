"""verify_ledger: every invariant printed, exit 1 on any breach, 2 when it cannot check."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from accounts.models import Account
from core.errors import LedgerError
from tests.commands.support import manage, raw, verify
from tests.factories import make_account
from transactions.hashing import GENESIS_HASH
from transactions.models import Entry
from transactions.services import TransferSpec, transfer_create
from transactions.verification import CHECKS

pytestmark = pytest.mark.django_db


def test_verify_ledger_passes_on_a_healthy_ledger(busy_ledger: tuple[Account, Account]) -> None:
    code, output = verify()
    assert code == 0, output
    lines = output.strip().splitlines()
    assert len(lines) == len(CHECKS) + 1
    assert all(line.startswith("OK      ") for line in lines[:-1]), output
    assert lines[-1].startswith(f"verify_ledger: all {len(CHECKS)} invariants hold")
    # Each line says how much it examined: 3 accounts; 2 deposits + 1 PIX posted = 6 entries; 5 transactions.
    assert "(3 accounts)" in lines[0] and "(6 entries)" in output and "(5 transactions)" in output, output


def test_verify_ledger_passes_on_an_empty_ledger(settlement: Account) -> None:
    code, output = verify()
    assert code == 0, output


@pytest.mark.parametrize(
    ("tamper", "breached"),
    [
        ("UPDATE accounts_account SET balance = balance + 1 WHERE id = %s", "balance = sum of entries"),
        ("UPDATE accounts_account SET held = held + 1 WHERE id = %s", "availableBalance = balance - PENDING"),
        ("UPDATE accounts_account SET entry_count = entry_count + 1 WHERE id = %s", "entry count matches"),
        ("UPDATE accounts_account SET sent_count = sent_count + 1 WHERE id = %s", "counters match"),
        ("UPDATE accounts_account SET received_count = 0 WHERE id = %s", "counters match"),
        ("UPDATE accounts_account SET last_hash = %s WHERE id = %s", "unbroken SHA-256 chain"),
    ],
)
def test_verify_ledger_exits_1_after_an_account_is_tampered_with(
    busy_ledger: tuple[Account, Account], tamper: str, breached: str
) -> None:
    victim = busy_ledger[0].pk
    raw(tamper, ["f" * 64, victim] if "last_hash" in tamper else [victim])
    code, output = verify()
    assert code == 1, output
    line = next(line for line in output.splitlines() if breached in line)
    assert line.startswith("BREACH"), output
    assert f"account {victim}" in line, line
    assert "invariants breached" in output


@pytest.mark.parametrize("counter", ["transactions", "accounts"])
def test_verify_ledger_exits_1_after_a_counter_is_tampered_with(
    busy_ledger: tuple[Account, Account], counter: str
) -> None:
    raw("UPDATE core_counter SET value = value + 1 WHERE name = %s AND slot = (SELECT MIN(slot) FROM core_counter "
        "WHERE name = %s)", [counter, counter])  # fmt: skip
    code, output = verify()
    assert code == 1, output
    assert "BREACH  counters match the rows" in output and f"{counter} counter" in output, output


@pytest.mark.postgres_only
def test_a_customer_overdraft_breaks_the_floor_and_the_sum(settlement: Account) -> None:
    """The CHECK constraint refuses a negative customer balance; were it dropped, verify_ledger would see one."""
    account = make_account(1_000)
    raw("SET CONSTRAINTS ALL IMMEDIATE")
    raw("ALTER TABLE accounts_account DROP CONSTRAINT account_customer_within_credit_limit")  # rolled back after
    raw("UPDATE accounts_account SET balance = -5 WHERE id = %s", [account.pk])
    code, output = verify()
    assert code == 1
    floor = next(line for line in output.splitlines() if "below -creditLimit" in line)
    assert floor.startswith("BREACH") and f"account {account.pk}: balance -5" in floor, output
    assert "BREACH  the sum of all balances is 0.00" in output and "sum to -1005 centavos" in output, output


def test_verify_ledger_quiet_prints_nothing_on_success(busy_ledger: tuple[Account, Account]) -> None:
    assert verify("--quiet") == (0, "")


def test_verify_ledger_quiet_still_prints_every_line_on_a_breach(busy_ledger: tuple[Account, Account]) -> None:
    raw("UPDATE accounts_account SET balance = balance + 1 WHERE id = %s", [busy_ledger[1].pk])
    code, output = verify("--quiet")
    assert code == 1
    assert output.count("BREACH") == 2 and output.count("OK ") == len(CHECKS) - 2, output  # balance and sum


def _disable_trigger(table: str, postgres_name: str, sqlite_names: list[str]) -> None:
    """Takes a trigger out in the test's transaction (rolled back afterwards) to simulate an owner's meddling."""
    if connection.vendor == "postgresql":
        raw("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses while deferred FK checks are queued
        raw(f"ALTER TABLE {table} DISABLE TRIGGER {postgres_name}")
    else:
        for name in sqlite_names:
            raw(f"DROP TRIGGER {name}")


def test_a_disabled_append_only_trigger_is_a_breach(busy_ledger: tuple[Account, Account]) -> None:
    _disable_trigger("audit_auditevent", "audit_event_append_only", ["audit_event_no_update"])
    code, output = verify()
    assert code == 1
    line = next(line for line in output.splitlines() if "triggers" in line)
    assert line.startswith("BREACH") and "audit_event" in line, output


def test_a_rewritten_entry_breaks_its_balances_and_its_hash_chain(busy_ledger: tuple[Account, Account]) -> None:
    """Were the trigger gone, a rewritten entry would still be caught: the chain no longer recomputes."""
    _disable_trigger("transactions_entry", "entry_append_only", ["entry_no_update"])
    entry = Entry.objects.filter(account=busy_ledger[1]).order_by("sequence").first()
    assert entry is not None
    raw("UPDATE transactions_entry SET amount = amount + 100, balance_after = balance_after + 100 WHERE id = %s",
        [entry.pk])  # fmt: skip
    code, output = verify()
    assert code == 1
    breached = [line for line in output.splitlines() if line.startswith("BREACH")]
    assert any("SHA-256" in line and f"account {busy_ledger[1].pk}: chain breaks at sequence 1" in line
               for line in breached), output  # fmt: skip
    assert any("balance = sum of entries" in line for line in breached), output
    assert any("summing to 0" in line for line in breached), output


def test_an_account_without_entries_must_keep_the_genesis_hash(settlement: Account) -> None:
    account = make_account(0)
    assert account.last_hash == GENESIS_HASH
    raw("UPDATE accounts_account SET last_hash = %s WHERE id = %s", ["a" * 64, account.pk])
    code, output = verify()
    assert code == 1 and f"account {account.pk}: no entries but last_hash" in output, output


def test_verify_ledger_exits_2_when_it_cannot_reach_the_ledger(tmp_path: Path) -> None:
    """An empty database (migrations never ran) is not a breach: it is 'could not check', exit 2."""
    worker = manage("verify_ledger", url=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 2, (out, err)
    assert err.strip().splitlines() == [err.strip().splitlines()[0]]  # one line, no traceback
    assert err.startswith("verify_ledger: could not check the ledger: no such table"), err


@pytest.mark.postgres_only
@pytest.mark.usefixtures("live_db")
def test_verify_ledger_sees_no_false_breach_while_money_moves() -> None:
    """All checks read one snapshot: a transfer committed between two checks is not a breach.

    Without the snapshot this fails nearly every run: the counter check counts a
    transfer's counter bump but not yet its row, the chain check sees an
    account's new entries but its old last_hash.
    """
    accounts = [make_account(10**7).pk for _ in range(10)]
    stop = threading.Event()

    def traffic(seed: int) -> None:
        rng = random.Random(seed)
        try:
            while not stop.is_set():
                sender, receiver = rng.sample(accounts, 2)
                with contextlib.suppress(LedgerError):  # an overdraft is a fine outcome here
                    transfer_create(spec=TransferSpec(sender, receiver, rng.randrange(1, 5_000), "PIX"))
        finally:
            connection.close()

    threads = [threading.Thread(target=traffic, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        outcomes = [verify() for _ in range(8)]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert [code for code, _ in outcomes] == [0] * 8, [out for code, out in outcomes if code]
