"""The contract's invariants, checked from the rows (``verify_ledger``).

Each check is set-based SQL (GROUP BY, one window function), so the whole
ledger is verified in seconds at 100,000 transactions; the hash chain is
streamed in (account, sequence) order in constant memory. The SQL is plain
enough for PostgreSQL and SQLite alike.

All checks read one snapshot (``ledger_snapshot``): on a ledger that is
moving money, checks that read at different moments would see a transfer in
one table and not yet in another, and cry breach where there is none.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from accounts.models import Account, AccountKind, AccountStatus
from core.counters import ACCOUNTS, TRANSACTIONS, counter_total
from core.documents import is_canonical
from core.triggers import installed_triggers
from transactions.hashing import GENESIS_HASH, HASHED_COLUMNS, rehash
from transactions.models import POSTED_STATUSES, Entry, Transaction, TransactionStatus
from transactions.triggers import ALL_SCRIPTS

SAMPLE = 5  # offenders named per breached invariant; the count is always complete
CHUNK = 5000  # entries per fetch of the streamed hash-chain check

ACCOUNT = Account._meta.db_table
ENTRY = Entry._meta.db_table
TX = Transaction._meta.db_table
POSTED = "(" + ", ".join(f"'{status}'" for status in sorted(POSTED_STATUSES)) + ")"  # as SQL


@dataclass
class Finding:
    """What one check saw: how much it examined, how many offenders, and a few of them."""

    checked: int
    unit: str
    breaches: int = 0
    sample: list[str] = field(default_factory=list)

    def offend(self, what: str) -> None:
        self.breaches += 1
        if len(self.sample) < SAMPLE:
            self.sample.append(what)

    @property
    def ok(self) -> bool:
        return self.breaches == 0


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[], Finding]


@dataclass(frozen=True)
class Outcome:
    check: Check
    finding: Finding
    seconds: float


# --- Helpers ---------------------------------------------------------------------------


def _scalar(sql: str, params: list[Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        row = cursor.fetchone()
    return int(row[0] or 0) if row else 0


def _offenders(finding: Finding, sql: str, label: Callable[[tuple[Any, ...]], str]) -> Finding:
    """Counts every row ``sql`` returns and names the first few, without holding them all."""
    with connection.cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(1000):
            for row in rows:
                finding.offend(label(row))
    return finding


# --- The checks ------------------------------------------------------------------------


def balances_match_entries() -> Finding:
    """balance = SUM(entries) = balance_after of the last entry; entry_count = number of entries."""
    checked = Finding(_scalar(f"SELECT COUNT(*) FROM {ACCOUNT}"), "accounts")
    sql = f"""
        SELECT a.id, a.balance, COALESCE(e.total, 0), COALESCE(le.balance_after, 0), a.entry_count, COALESCE(e.n, 0)
        FROM {ACCOUNT} a
        LEFT JOIN (
            SELECT account_id, SUM(amount) AS total, COUNT(*) AS n, MAX(sequence) AS last
            FROM {ENTRY} GROUP BY account_id
        ) e ON e.account_id = a.id
        LEFT JOIN {ENTRY} le ON le.account_id = a.id AND le.sequence = e.last
        WHERE a.balance <> COALESCE(e.total, 0) OR a.balance <> COALESCE(le.balance_after, 0)
            OR a.entry_count <> COALESCE(e.n, 0)
        ORDER BY a.id"""
    return _offenders(
        checked,
        sql,
        lambda r: (
            f"account {r[0]}: balance {r[1]}, entries sum {r[2]}, last balanceAfter {r[3]}, "
            f"entry_count {r[4]} for {r[5]} entries"
        ),
    )


def running_balances_hold() -> Finding:
    """Each entry's balance_after is the running sum of its account's entries up to it."""
    checked = Finding(_scalar(f"SELECT COUNT(*) FROM {ENTRY}"), "entries")
    sql = f"""
        SELECT account_id, sequence FROM (
            SELECT account_id, sequence, balance_after,
                SUM(amount) OVER (PARTITION BY account_id ORDER BY sequence ROWS UNBOUNDED PRECEDING) AS running
            FROM {ENTRY}
        ) w
        WHERE running <> balance_after ORDER BY account_id, sequence"""
    return _offenders(checked, sql, lambda r: f"account {r[0]} sequence {r[1]}")


def sequences_are_gapless() -> Finding:
    """Sequences run 1..n: with UNIQUE (account, sequence), MIN = 1 and MAX = COUNT say it all."""
    checked = Finding(_scalar(f"SELECT COUNT(DISTINCT account_id) FROM {ENTRY}"), "accounts with entries")
    sql = f"""
        SELECT account_id, MIN(sequence), MAX(sequence), COUNT(*) FROM {ENTRY} GROUP BY account_id
        HAVING MIN(sequence) <> 1 OR MAX(sequence) <> COUNT(*) ORDER BY account_id"""
    return _offenders(checked, sql, lambda r: f"account {r[0]}: sequences {r[1]}..{r[2]} for {r[3]} entries")


def books_sum_to_zero() -> Finding:
    finding = Finding(_scalar(f"SELECT COUNT(*) FROM {ACCOUNT}"), "accounts")
    total = _scalar(f"SELECT SUM(balance) FROM {ACCOUNT}")
    if total != 0:
        finding.offend(f"the balances sum to {total} centavos")
    return finding


def no_customer_below_its_limit() -> Finding:
    """balance and balance - held never below -credit_limit (0 unless set: the old "never negative")."""
    customer = f"kind = '{AccountKind.CUSTOMER}'"
    checked = Finding(_scalar(f"SELECT COUNT(*) FROM {ACCOUNT} WHERE {customer}"), "customer accounts")
    sql = f"""
        SELECT id, balance, held, credit_limit FROM {ACCOUNT}
        WHERE {customer} AND (credit_limit < 0 OR held < 0 OR balance < -credit_limit OR balance - held < -credit_limit)
        ORDER BY id"""
    return _offenders(checked, sql, lambda r: f"account {r[0]}: balance {r[1]}, held {r[2]}, credit limit {r[3]}")


def holds_match_pending() -> Finding:
    """held = SUM(amount) of the account's PENDING outgoing transactions, so available = balance - that."""
    checked = Finding(_scalar(f"SELECT COUNT(*) FROM {ACCOUNT}"), "accounts")
    sql = f"""
        WITH pending AS (
            SELECT sender_id, SUM(amount) AS total FROM {TX} WHERE status = '{TransactionStatus.PENDING}'
            GROUP BY sender_id
        )
        SELECT a.id, a.held, COALESCE(p.total, 0) FROM {ACCOUNT} a LEFT JOIN pending p ON p.sender_id = a.id
        WHERE a.held <> COALESCE(p.total, 0) ORDER BY a.id"""
    return _offenders(checked, sql, lambda r: f"account {r[0]}: held {r[1]}, pending out {r[2]}")


def postings_match_status() -> Finding:
    """COMPLETED/REVERTED: exactly -captured on the sender and +captured on the receiver, captured <= amount;
    others: no entry and nothing captured."""
    checked = Finding(_scalar(f"SELECT COUNT(*) FROM {TX}"), "transactions")
    sql = f"""
        SELECT t.id, t.status, COALESCE(p.n, 0), t.captured_amount FROM {TX} t
        LEFT JOIN (
            SELECT e.transaction_id, COUNT(*) AS n,
                SUM(CASE WHEN e.account_id = x.sender_id AND e.amount = -x.captured_amount THEN 1 ELSE 0 END)
                    AS debits,
                SUM(CASE WHEN e.account_id = x.receiver_id AND e.amount = x.captured_amount THEN 1 ELSE 0 END)
                    AS credits
            FROM {ENTRY} e JOIN {TX} x ON x.id = e.transaction_id GROUP BY e.transaction_id
        ) p ON p.transaction_id = t.id
        WHERE (t.status IN {POSTED} AND NOT (
                COALESCE(p.n, 0) = 2 AND p.debits = 1 AND p.credits = 1
                AND t.captured_amount > 0 AND t.captured_amount <= t.amount))
            OR (t.status NOT IN {POSTED} AND (COALESCE(p.n, 0) <> 0 OR t.captured_amount IS NOT NULL))
        ORDER BY t.id"""
    return _offenders(checked, sql, lambda r: f"transaction {r[0]} ({r[1]}, {r[2]} entries, captured {r[3]})")


def reversals_add_up() -> Finding:
    """reversed_amount = SUM(its REVERSALs) <= captured_amount; REVERTED exactly when they are equal."""
    checked = Finding(_scalar(f"SELECT COUNT(*) FROM {TX} WHERE status IN {POSTED}"), "posted transactions")
    reverted = f"'{TransactionStatus.REVERTED}'"
    sql = f"""
        SELECT t.id, t.status, t.captured_amount, t.reversed_amount, COALESCE(r.total, 0) FROM {TX} t
        LEFT JOIN (SELECT reverses_id, SUM(amount) AS total FROM {TX} WHERE reverses_id IS NOT NULL
                   GROUP BY reverses_id) r ON r.reverses_id = t.id
        WHERE t.reversed_amount <> COALESCE(r.total, 0)
            OR (t.reversed_amount > 0 AND (t.captured_amount IS NULL OR t.reversed_amount > t.captured_amount))
            OR (t.status = {reverted} AND (t.captured_amount IS NULL OR t.reversed_amount <> t.captured_amount))
            OR (t.status <> {reverted} AND t.captured_amount IS NOT NULL AND t.reversed_amount = t.captured_amount)
        ORDER BY t.id"""
    return _offenders(
        checked,
        sql,
        lambda r: f"transaction {r[0]} ({r[1]}): captured {r[2]}, reversedAmount {r[3]}, its reversals sum {r[4]}",
    )


def closed_accounts_stay_closed() -> Finding:
    """A CLOSED account has balance 0, nothing held, a closing instant and no entry after it."""
    closed = f"'{AccountStatus.CLOSED}'"
    checked = Finding(_scalar(f"SELECT COUNT(*) FROM {ACCOUNT} WHERE status = {closed}"), "closed accounts")
    sql = f"""
        SELECT a.id, a.balance, a.held, COALESCE(late.n, 0) FROM {ACCOUNT} a
        LEFT JOIN (
            SELECT e.account_id, COUNT(*) AS n FROM {ENTRY} e JOIN {ACCOUNT} c ON c.id = e.account_id
            WHERE c.status = {closed} AND (c.closed_at IS NULL OR e.created_at > c.closed_at) GROUP BY e.account_id
        ) late ON late.account_id = a.id
        WHERE a.status = {closed} AND (a.balance <> 0 OR a.held <> 0 OR a.closed_at IS NULL OR late.n > 0)
        ORDER BY a.id"""
    return _offenders(
        checked, sql, lambda r: f"account {r[0]}: balance {r[1]}, held {r[2]}, {r[3]} entries after closing"
    )


def expected_triggers(vendor: str) -> set[tuple[str, str]]:
    """(table, trigger) pairs the migrations install on ``vendor``, read from their SQL (``*/triggers.py``)."""
    return installed_triggers(vendor, ALL_SCRIPTS)


def triggers_installed() -> Finding:
    """The append-only triggers exist on their tables and are enabled (a disabled one refuses nothing)."""
    wanted = expected_triggers(connection.vendor)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgenabled IN ('O', 'A') AND pg_table_is_visible(c.oid)"
            )
        else:
            cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        present = {(table, name) for table, name in cursor.fetchall()}
    finding = Finding(len(wanted), "triggers")
    for table, name in sorted(wanted - present):
        finding.offend(f"{name} on {table} missing or disabled")
    return finding


def hash_chains_hold() -> Finding:
    """Recomputes every entry's hash in (account, sequence) order, streamed; checks account.last_hash."""
    last_hash = dict(Account.objects.values_list("pk", "last_hash"))
    finding = Finding(0, "entries")
    current: int | None = None
    previous = GENESIS_HASH
    seen: set[int] = set()

    def close(account_id: int, chain_end: str) -> None:
        seen.add(account_id)
        if last_hash.get(account_id) != chain_end:
            finding.offend(f"account {account_id}: last_hash is not its last entry's hash")

    for *hashed, prev_hash, stored in _entries():
        account_id, sequence = hashed[0], hashed[1]
        finding.checked += 1
        if account_id != current:
            if current is not None:
                close(current, previous)
            current, previous = account_id, GENESIS_HASH
        if prev_hash != previous or stored != rehash(previous, hashed):
            finding.offend(f"account {account_id}: chain breaks at sequence {sequence}")
        previous = stored
    if current is not None:
        close(current, previous)
    for account_id in sorted(set(last_hash) - seen):
        if last_hash[account_id] != GENESIS_HASH:
            finding.offend(f"account {account_id}: no entries but last_hash is not the genesis hash")
    return finding


def _entries() -> Iterator[tuple[Any, ...]]:
    # A server-side cursor on PostgreSQL: memory stays flat whatever the number of entries.
    return (
        Entry.objects.order_by("account_id", "sequence")
        .values_list(*HASHED_COLUMNS, "prev_hash", "hash")
        .iterator(chunk_size=CHUNK)
    )


def documents_are_canonical() -> Finding:
    """Every document is the ASCII form ``validate_document`` gives it (accounts/0003), of its stored type."""
    finding = Finding(0, "accounts")
    for pk, document, document_type in (
        Account.objects.order_by("pk").values_list("pk", "document", "document_type").iterator(chunk_size=CHUNK)
    ):
        finding.checked += 1
        if not is_canonical(document, document_type):
            finding.offend(f"account {pk}: its {document_type} is not in canonical form")  # no PII in the output
    return finding


def counters_match() -> Finding:
    """The O(1) counters (global totals, per-account sent/received) equal the counted rows."""
    checked = Finding(_scalar(f"SELECT COUNT(*) FROM {ACCOUNT}"), "accounts")
    for name, table, what in ((TRANSACTIONS, TX, "transactions"), (ACCOUNTS, ACCOUNT, "accounts")):
        counted, rows = counter_total(name), _scalar(f"SELECT COUNT(*) FROM {table}")
        if counted != rows:
            checked.offend(f"{what} counter {counted} for {rows} rows")
    sql = f"""
        SELECT a.id, a.sent_count, COALESCE(s.n, 0), a.received_count, COALESCE(r.n, 0) FROM {ACCOUNT} a
        LEFT JOIN (SELECT sender_id, COUNT(*) AS n FROM {TX} GROUP BY sender_id) s ON s.sender_id = a.id
        LEFT JOIN (SELECT receiver_id, COUNT(*) AS n FROM {TX} GROUP BY receiver_id) r ON r.receiver_id = a.id
        WHERE a.sent_count <> COALESCE(s.n, 0) OR a.received_count <> COALESCE(r.n, 0) ORDER BY a.id"""
    return _offenders(
        checked, sql, lambda r: f"account {r[0]}: sent_count {r[1]} for {r[2]}, received_count {r[3]} for {r[4]}"
    )


CHECKS = [
    Check("balance = sum of entries = last balanceAfter; entry count matches", balances_match_entries),
    Check("each balanceAfter is its account's running sum", running_balances_hold),
    Check("entry sequences run 1..n without gaps", sequences_are_gapless),
    Check("the sum of all balances is 0.00", books_sum_to_zero),
    Check("no customer balance or availableBalance below -creditLimit", no_customer_below_its_limit),
    Check("availableBalance = balance - PENDING outgoing amounts", holds_match_pending),
    Check(
        "COMPLETED/REVERTED have two entries of capturedAmount summing to 0; PENDING/FAILED none",
        postings_match_status,
    ),
    Check("reversedAmount = sum of its REVERSALs <= capturedAmount; REVERTED when equal", reversals_add_up),
    Check("a CLOSED account is empty and has no entry after its closing", closed_accounts_stay_closed),
    Check("append-only triggers are installed and enabled", triggers_installed),
    Check("each account's entries form an unbroken SHA-256 chain", hash_chains_hold),
    Check("counters match the rows (transactions, accounts, sent/received)", counters_match),
    Check("documents are canonical: ASCII, normalized, valid, of their type", documents_are_canonical),
]


@contextmanager
def ledger_snapshot() -> Iterator[None]:
    """One read-only transaction for every check, so they all see the same instant.

    PostgreSQL: REPEATABLE READ gives every statement the transaction's
    snapshot. SQLite: a transaction's reads see one state of the file. Inside
    a caller's transaction (a test) the caller's view is used as it is.
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def verify(checks: list[Check] | None = None) -> Iterator[Outcome]:
    """Runs the checks in one snapshot, yielding each outcome as soon as it is known."""
    with ledger_snapshot():
        for check in checks or CHECKS:
            started = time.perf_counter()
            finding = check.run()
            yield Outcome(check, finding, time.perf_counter() - started)
