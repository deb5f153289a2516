"""Signed checkpoints: a chain recomputed by whoever can write the tables is still caught.

The attack of the security issue (class 5): as a role that can disable the
triggers, change a transaction's amount and both its entries, recompute every
hash with the project's own ``entry_hash``, fix the balances, re-enable the
triggers. Plain ``verify_ledger`` then holds; ``verify_ledger --against`` a
checkpoint signed before the attack names the accounts.
"""

from __future__ import annotations

import json
import secrets
import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction

from accounts.models import Account
from audit.models import AuditEvent
from audit.services import audit_event_record
from tests.commands.support import raw, run, verify
from tests.factories import make_account
from transactions.checkpoint import MIN_SECRET, CheckpointError, configured_keys, load
from transactions.hashing import GENESIS_HASH, entry_hash
from transactions.models import Entry, Transaction, TransactionStatus
from transactions.services import (
    TransferSpec,
    transaction_reverse,
    transactions_settle_due,
    transfer_batch_create,
)

pytestmark = pytest.mark.django_db


def new_key(key_id: str) -> str:
    return f"{key_id}:{secrets.token_urlsafe(32)}"


@pytest.fixture
def key(settings: Any) -> str:
    settings.LEDGER_CHECKPOINT_KEY = new_key("k1")
    return str(settings.LEDGER_CHECKPOINT_KEY)


def checkpoint(path: Path) -> Path:
    code, out, err = run("ledger_checkpoint", out=str(path))
    assert code == 0, out + err
    return path


def pix(busy: tuple[Account, Account]) -> Transaction:
    return Transaction.objects.get(sender=busy[0], receiver=busy[1], type="PIX", status=TransactionStatus.COMPLETED)


def recompute_chains(account_ids: list[int]) -> None:
    """What a careful forger does after editing amounts: running balances, hashes, account rows."""
    for account_id in account_ids:
        running, previous = 0, GENESIS_HASH
        for entry in Entry.objects.filter(account_id=account_id).order_by("sequence"):
            running += entry.amount
            digest = entry_hash(
                prev_hash=previous,
                account_id=account_id,
                sequence=entry.sequence,
                transaction_id=entry.transaction_id,
                amount=entry.amount,
                balance_after=running,
                created_at=entry.created_at,
            )
            raw(
                "UPDATE transactions_entry SET balance_after = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [running, previous, digest, entry.pk],
            )
            previous = digest
        raw("UPDATE accounts_account SET balance = %s, last_hash = %s WHERE id = %s", [running, previous, account_id])


def rewrite_amount(tx: Transaction, amount: int) -> None:
    """The attack, as the tables' owner or a superuser would run it."""
    raw("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses while the test's deferred FK checks are queued
    raw("ALTER TABLE transactions_entry DISABLE TRIGGER USER")
    raw("ALTER TABLE transactions_transaction DISABLE TRIGGER USER")
    raw("UPDATE transactions_transaction SET amount = %s, captured_amount = %s WHERE id = %s", [amount, amount, tx.pk])
    raw(
        "UPDATE transactions_entry SET amount = CASE WHEN amount < 0 THEN -%s ELSE %s END WHERE transaction_id = %s",
        [amount, amount, tx.pk],
    )
    recompute_chains([tx.sender_id, tx.receiver_id])
    raw("ALTER TABLE transactions_transaction ENABLE TRIGGER USER")
    raw("ALTER TABLE transactions_entry ENABLE TRIGGER USER")


@pytest.mark.postgres_only
def test_a_recomputed_chain_passes_verify_ledger_but_not_the_signed_checkpoint(
    busy_ledger: tuple[Account, Account], key: str, tmp_path: Path
) -> None:
    file = checkpoint(tmp_path / "before.json")
    tx = pix(busy_ledger)
    rewrite_amount(tx, tx.amount - 900)

    code, output = verify()
    assert code == 0, output  # the forgery is self-consistent: every plain invariant holds

    code, output = verify("--against", str(file))
    assert code == 1, output
    sender, receiver = busy_ledger
    assert f"account {sender.pk}: its entries up to sequence" in output
    assert f"account {receiver.pk}: its entries up to sequence" in output
    start = tx.pk // 1024 * 1024  # ids go on from earlier tests: the block of 1,024 the rewritten one is in
    assert f"transactions with ids {start}..{start + 1023}: changed" in output
    assert "BREACH  audit events" not in output


def test_an_untouched_ledger_with_new_history_after_the_checkpoint_passes(
    busy_ledger: tuple[Account, Account], key: str, tmp_path: Path
) -> None:
    file = checkpoint(tmp_path / "cp.json")
    a, b = busy_ledger
    transactions_settle_due()  # the PENDING TED: a status change and new entries
    transaction_reverse(transaction_id=pix(busy_ledger).pk)  # COMPLETED -> REVERTED, a new REVERSAL
    transfer_batch_create(specs=[TransferSpec(a.pk, b.pk, 10, "PIX")] * 12)
    make_account(700)

    code, output = verify("--against", str(file))
    assert code == 0, output
    assert "OK      entries up to the checkpoint" in output
    assert "OK      transactions up to the checkpoint are unchanged" in output
    assert "OK      audit events up to the checkpoint are unchanged" in output


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda doc: doc["body"]["accounts"][1].__setitem__(2, "0" * 64), id="an account's hash"),
        pytest.param(lambda doc: doc["body"]["accounts"][1].__setitem__(1, 1), id="an account's sequence"),
        pytest.param(lambda doc: doc["body"]["accounts"].pop(), id="an account dropped"),
        pytest.param(lambda doc: doc["body"]["transactions"]["ids"].clear(), id="transactions dropped"),
        pytest.param(lambda doc: doc["body"].__setitem__("taken_at", "2020-01-01T00:00:00.000000Z"), id="the time"),
        pytest.param(lambda doc: doc.__setitem__("signature", "0" * 64), id="the signature"),
    ],
)
def test_a_modified_checkpoint_is_refused(
    busy_ledger: tuple[Account, Account], key: str, tmp_path: Path, forge: Any
) -> None:
    file = checkpoint(tmp_path / "cp.json")
    document = json.loads(file.read_text())
    forge(document)
    file.write_text(json.dumps(document))

    code, output = verify("--against", str(file))
    assert code == 2, output
    assert "checkpoint refused" in output
    assert "bad signature" in output


def test_a_checkpoint_forged_without_the_key_is_refused(
    busy_ledger: tuple[Account, Account], key: str, settings: Any, tmp_path: Path
) -> None:
    """Whoever rewrote history cannot sign a fresh checkpoint: the same key id with another secret fails."""
    genuine = checkpoint(tmp_path / "genuine.json")
    settings.LEDGER_CHECKPOINT_KEY = new_key("k1")  # the forger's guess
    forged = checkpoint(tmp_path / "forged.json")
    settings.LEDGER_CHECKPOINT_KEY = key

    assert verify("--against", str(genuine))[0] == 0
    code, output = verify("--against", str(forged))
    assert code == 2, output
    assert "bad signature" in output


def test_keys_rotate_by_id(busy_ledger: tuple[Account, Account], key: str, settings: Any, tmp_path: Path) -> None:
    old = checkpoint(tmp_path / "old.json")
    settings.LEDGER_CHECKPOINT_KEY = f"{new_key('k2')},{key}"  # k2 signs from now on, k1 still verifies
    new = checkpoint(tmp_path / "new.json")
    assert json.loads(new.read_text())["key_id"] == "k2"
    assert verify("--against", str(old))[0] == 0
    assert verify("--against", str(new))[0] == 0

    settings.LEDGER_CHECKPOINT_KEY = new_key("k3")  # k1 and k2 retired
    code, output = verify("--against", str(old))
    assert code == 2
    assert "signed with key 'k1', which LEDGER_CHECKPOINT_KEY does not list" in output


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "LEDGER_CHECKPOINT_KEY is not set"),
        ("k1:short", f"at least {MIN_SECRET} characters"),
        ("no-colon-here-" + "x" * 40, "is not id:secret"),
        ("bad id:" + "x" * 40, "is not id:secret"),
        ("k1:" + "x" * 40 + ",k1:" + "y" * 40, "lists the key id k1 twice"),
    ],
)
def test_checkpoint_keys_are_checked(
    busy_ledger: tuple[Account, Account], settings: Any, tmp_path: Path, value: str, message: str
) -> None:
    settings.LEDGER_CHECKPOINT_KEY = value
    code, _, err = run("ledger_checkpoint", out=str(tmp_path / "cp.json"))
    assert code == 2
    assert message in err
    assert "x" * 40 not in err  # a secret is never echoed
    assert not (tmp_path / "cp.json").exists()
    with pytest.raises(CheckpointError, match=message.split(" ")[0]):
        configured_keys()


def test_a_checkpoint_is_never_overwritten(busy_ledger: tuple[Account, Account], key: str, tmp_path: Path) -> None:
    file = checkpoint(tmp_path / "cp.json")
    before = file.read_text()
    code, _, err = run("ledger_checkpoint", out=str(file))
    assert code == 2
    assert "never overwritten" in err
    assert file.read_text() == before


def test_a_ledger_that_does_not_verify_is_not_signed(
    busy_ledger: tuple[Account, Account], key: str, tmp_path: Path
) -> None:
    raw("UPDATE accounts_account SET balance = balance + 1 WHERE id = %s", [busy_ledger[0].pk])
    code, _, err = run("ledger_checkpoint", out=str(tmp_path / "cp.json"))
    assert code == 1
    assert "nothing was signed" in err
    assert not (tmp_path / "cp.json").exists()


def test_the_checkpoint_goes_to_standard_output_with_dash(
    busy_ledger: tuple[Account, Account], key: str, tmp_path: Path
) -> None:
    code, out, err = run("ledger_checkpoint", out="-")
    assert code == 0, err
    body = load(out).accounts
    assert {pk for pk, _, _ in body} == set(Account.objects.values_list("pk", flat=True))
    assert err.startswith("checkpoint ")  # the summary stays off the file


def test_unreadable_or_foreign_files_are_refused(key: str, tmp_path: Path, settlement: Account) -> None:
    (tmp_path / "not-json").write_text("{")
    (tmp_path / "other.json").write_text('{"format": "something-else"}')
    for name, message in [
        ("missing", "cannot read"),
        ("not-json", "not JSON"),
        ("other.json", "format is not"),
    ]:
        code, output = verify("--against", str(tmp_path / name))
        assert code == 2, output
        assert message in output


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("statement", "named", "first_changed"),
    [
        (
            "UPDATE audit_auditevent SET outcome = 'OK', actor_label = 'nobody'",
            "audit events with ids {block}: changed",
            "SELECT MIN(id) FROM audit_auditevent",
        ),
        (
            "DELETE FROM audit_auditevent WHERE id = (SELECT MAX(id) FROM audit_auditevent)",
            "audit events with ids",
            None,
        ),
        (
            "UPDATE transactions_transaction SET amount = amount + 1 WHERE status = 'FAILED'",
            "transactions with ids {block}: changed",
            "SELECT MIN(id) FROM transactions_transaction WHERE status = 'FAILED'",
        ),
    ],
)
def test_rewritten_transactions_and_audit_events_are_located(
    busy_ledger: tuple[Account, Account],
    key: str,
    tmp_path: Path,
    statement: str,
    named: str,
    first_changed: str | None,
) -> None:
    """A FAILED transaction has no entries and an audit event no chain: their digests catch an edit."""
    if first_changed is not None:  # ids go on from earlier tests: name the block of 1,024 the first edited row is in
        with connection.cursor() as cursor:
            cursor.execute(first_changed)
            (lowest,) = cursor.fetchone()
        start = lowest // 1024 * 1024
        named = named.format(block=f"{start}..{start + 1023}")
    file = checkpoint(tmp_path / "cp.json")
    table = statement.split()[2] if statement.startswith("DELETE") else statement.split()[1]
    raw("SET CONSTRAINTS ALL IMMEDIATE")
    raw(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    raw(statement)
    raw(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    code, output = verify("--against", str(file))
    assert code == 1, output
    assert named in output


@pytest.mark.postgres_only
def test_a_row_in_flight_during_the_checkpoint_is_not_a_change(live_db: None, key: str, tmp_path: Path) -> None:
    """Ids come from a sequence before commit: a lower id may commit after the snapshot; the file lists ids seen.

    Audit events show it without other locks in the way (transactions, audit
    events: the same code). Were every id up to the highest seen counted, the row
    committed later would read as a change.
    """
    make_account(10_000)
    reserved, release = threading.Event(), threading.Event()
    in_flight: list[int] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                in_flight.append(audit_event_record(actor=None, action="probe.slow", outcome="OK").pk)
                reserved.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert reserved.wait(30)
        later = audit_event_record(actor=None, action="probe.later", outcome="OK").pk  # higher id, committed first
        assert later > in_flight[0]
        file = checkpoint(tmp_path / "cp.json")
    finally:
        release.set()
        thread.join(30)
    ranges = json.loads(file.read_text())["body"]["audit_events"]["ids"]
    assert not any(first <= in_flight[0] <= last for first, last in ranges)
    assert any(first <= later <= last for first, last in ranges)
    assert AuditEvent.objects.filter(pk=in_flight[0]).exists()

    code, output = verify("--against", str(file))
    assert code == 0, output
