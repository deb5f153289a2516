"""The posting engine, the one door of the money path: locked accounts, in memory, written back at once.

Every operation that moves or holds money (transfer, batch, deposit, reversal,
cancel, settlement, capture, expiry) or changes what an account may do (freeze,
unfreeze, close, credit limit) ends the same way:
1. ``AccountBook.lock(ids)`` takes the row locks with one ``SELECT ... FOR UPDATE``
   ordered by pk: a fixed lock order, so A->B and B->A cannot deadlock.
   ``AccountBook.lock_transaction`` locks an existing transaction first, then the
   accounts it names, in the same statement.
2. Rules are decided against the locked rows, in memory (``spendable``,
   ``hold``, ``post``), in list order for a batch.
3. ``AccountBook.save`` reserves the new transactions' pks and writes them, the
   status changes, entries, accounts, counters and audit events, whatever the
   number of transfers, in one statement on PostgreSQL (``transactions.writer``).
Sequences, running balances and the hash chain are assigned under the row lock,
so each account's statement is gapless and in commit order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Literal

from django.db import connection
from django.utils import timezone

from accounts.models import Account, AccountKind
from audit.models import AuditEvent
from core.counters import TRANSACTIONS
from transactions.hashing import entry_hash
from transactions.models import Transaction
from transactions.writer import Changes, Posting, reserve_ids, write

Party = Literal["sender_id", "receiver_id"]

# Transaction pks drawn in a lock's own statement: an uncorrelated subquery, so PostgreSQL runs it once (an
# InitPlan) whatever the rows; the parameter is how many.
DRAWN = (
    f"(SELECT array_agg(nextval(pg_get_serial_sequence('{Transaction._meta.db_table}', 'id'))) "
    "FROM generate_series(1, %s))"
)


class AccountBook:
    """The locked accounts of one database transaction and their pending changes."""

    def __init__(self, accounts: Iterable[Account], clock: datetime | None = None, drawn: Sequence[int] = ()) -> None:
        self.accounts: dict[int, Account] = {account.pk: account for account in accounts}
        self.dirty: set[int] = set()
        self.entries: list[Posting] = []
        # The database's clock when the locks were granted (``lock_transaction``): what a hold's expiry is judged by.
        self.clock = clock
        # Transaction pks drawn from the sequence in the lock's own statement (``reserve``), for ``save``.
        self.drawn = list(drawn)

    @classmethod
    def lock(cls, ids: Iterable[int], *, reserve: int = 0) -> AccountBook:
        """Locks the accounts ``ids``; on PostgreSQL, also draws ``reserve`` transaction pks in the same statement.

        A transfer knows how many transactions it will create before it decides
        anything, so its pks cost no round trip of their own; a pk drawn and not
        used (a refused item, a replay) is a gap, as after any rollback.
        """
        wanted = sorted(set(ids))
        if not wanted:
            return cls([])
        # Ordered by pk: the one lock order of the whole ledger. Written by hand because it runs
        # once per transfer and the ORM would compile the same SQL every time; ``raw`` still
        # builds the instances with the backend's converters.
        placeholders = ", ".join(["%s"] * len(wanted))
        table = Account._meta.db_table
        if connection.vendor != "postgresql":  # SQLite: no row locks, no sequences (``reserve_ids`` inserts)
            return cls(Account.objects.raw(f"SELECT * FROM {table} WHERE id IN ({placeholders}) ORDER BY id", wanted))
        # The drawn pks ride on the first wanted account's row only: on every row, a batch's 1,000 pks
        # times its ~900 accounts made the statement sort on disk and psycopg parse ~900,000 numbers
        # (bench/RESULTS.md, lever 6). If that account does not exist, nothing is drawn here (the
        # subquery runs only when first evaluated) and ``reserve_ids`` draws what is needed.
        drawn = f", CASE WHEN id = %s THEN {DRAWN} END AS ledger_drawn" if reserve else ""
        sql = f"SELECT *{drawn} FROM {table} WHERE id IN ({placeholders}) ORDER BY id FOR UPDATE"
        rows = list(Account.objects.raw(sql, [wanted[0], reserve, *wanted] if reserve else wanted))
        return cls(rows, drawn=(vars(rows[0])["ledger_drawn"] or ()) if reserve and rows else ())

    @classmethod
    def lock_transaction(
        cls, transaction_id: int, *, parties: Sequence[Party] = ("sender_id", "receiver_id"), reserve: int = 0
    ) -> tuple[Transaction | None, AccountBook]:
        """Locks a transaction, then the accounts it names (``parties``), and reads them, in one statement.

        The transaction's lock comes first, then the accounts' in pk order: the
        order of every operation on an existing transaction (the settlement claims
        its rows before locking their accounts), so a reversal and a cancel of one
        transaction queue at the transaction, holding no account. ``reserve``: as
        for ``lock`` (a reversal draws its pk here).
        """
        if connection.vendor != "postgresql":  # SQLite: one writer at a time, no row locks; two statements
            found = Transaction.objects.filter(pk=transaction_id).first()
            book = cls.lock([getattr(found, party) for party in parties] if found else [])
            book.clock = timezone.now()  # the same machine's clock: SQLite runs in the process
            return found, book
        tx_fields, account_fields = Transaction._meta.concrete_fields, Account._meta.concrete_fields
        # Then clock_timestamp(): the database's own time, read in the same round trip; then the drawn pks.
        columns = [f"t.{f.column}" for f in tx_fields] + [f"a.{f.column}" for f in account_fields]
        columns.append("clock_timestamp()")
        if reserve:
            columns.append(DRAWN)
        joined = " OR ".join(f"a.id = t.{party}" for party in parties)  # the attnames are the columns
        with connection.cursor() as cursor:
            # FOR UPDATE locks the rows of each output row in FROM order, output rows in ORDER BY
            # order: the transaction, the lower account, the higher (tests/transactions/test_one_door).
            # Written by hand, like ``lock``; psycopg returns the fields' Python values: no converter.
            cursor.execute(
                f"SELECT {', '.join(columns)} FROM {Transaction._meta.db_table} t "
                f"JOIN {Account._meta.db_table} a ON {joined} WHERE t.id = %s ORDER BY a.id FOR UPDATE",
                [reserve, transaction_id] if reserve else [transaction_id],
            )
            rows = cursor.fetchall()
        if not rows:
            return None, cls([])
        split, end = len(tx_fields), len(tx_fields) + len(account_fields)
        found = Transaction.from_db(connection.alias, [f.attname for f in tx_fields], rows[0][:split])
        names = [f.attname for f in account_fields]
        accounts = (Account.from_db(connection.alias, names, row[split:end]) for row in rows)
        return found, cls(accounts, clock=rows[0][end], drawn=rows[0][end + 1] if reserve else ())

    def __contains__(self, account_id: int) -> bool:
        return account_id in self.accounts

    def __getitem__(self, account_id: int) -> Account:
        return self.accounts[account_id]

    def spendable(self, account_id: int) -> int | None:
        """What a new debit may take: available balance plus credit limit; None for the settlement account."""
        account = self.accounts[account_id]
        if account.kind == AccountKind.SETTLEMENT:
            return None
        return account.spendable

    def can_spend(self, account_id: int, amount: int) -> bool:
        spendable = self.spendable(account_id)
        return spendable is None or spendable >= amount

    def touch(self, account_id: int) -> None:
        """Marks an account written by the next save: its status, reason or credit limit changed in memory."""
        self.dirty.add(account_id)

    def count_transaction(self, sender_id: int, receiver_id: int) -> None:
        self.accounts[sender_id].sent_count += 1
        self.accounts[receiver_id].received_count += 1
        self.dirty.update((sender_id, receiver_id))

    def hold(self, account_id: int, amount: int) -> None:
        self.accounts[account_id].held += amount
        self.dirty.add(account_id)

    def release(self, account_id: int, amount: int) -> None:
        self.accounts[account_id].held -= amount
        self.dirty.add(account_id)

    def post(self, transaction: Transaction, now: datetime, amount: int | None = None) -> None:
        """Moves ``amount`` (default: the transaction's) now and records it as captured; ``seal`` writes the entries.

        The transaction may not have its pk yet (a batch inserts them all at
        once), and each entry's hash covers that pk: so balances, sequences and
        running balances are fixed here, in posting order, and the hashes in
        ``seal`` once the pks exist.
        """
        moved = transaction.amount if amount is None else amount
        transaction.captured_amount = moved
        self._entry(transaction.sender_id, transaction, -moved, now)
        self._entry(transaction.receiver_id, transaction, moved, now)

    def _entry(self, account_id: int, transaction: Transaction, amount: int, now: datetime) -> None:
        account = self.accounts[account_id]
        account.balance += amount
        account.entry_count += 1
        self.entries.append(Posting(account_id, transaction, amount, account.balance, account.entry_count, now))
        self.dirty.add(account_id)

    def seal(self) -> list[Posting]:
        """Chains the hashes of the posted entries, in posting order, and returns them."""
        for entry in self.entries:
            account = self.accounts[entry.account_id]
            entry.prev_hash = account.last_hash
            entry.hash = entry_hash(
                prev_hash=account.last_hash,
                account_id=entry.account_id,
                sequence=entry.sequence,
                transaction_id=entry.transaction_id,
                amount=entry.amount,
                balance_after=entry.balance_after,
                created_at=entry.created_at,
            )
            account.last_hash = entry.hash
        return self.entries

    def discard(self) -> None:
        """Forgets what was posted and not saved: an aborted batch writes nothing of it."""
        self.entries = []
        self.dirty.clear()

    def save(
        self,
        *,
        created: Sequence[Transaction] = (),
        updated: Sequence[Transaction] = (),
        events: Sequence[AuditEvent] | Callable[[], Sequence[AuditEvent]] = (),
    ) -> None:
        """Writes the operation: one statement on PostgreSQL after the pks of ``created`` are reserved.

        ``created`` are new transactions (added to the transactions counter);
        ``updated`` are existing ones whose status fields changed; the entries
        and every changed account come from the book. ``events`` may be a
        callable: audit events that name the new transactions are built once
        their pks exist.
        """
        reserve_ids(created, self.drawn)  # each entry's hash covers its transaction's pk
        self.drawn = []
        entries = self.seal()
        accounts = [self.accounts[pk] for pk in sorted(self.dirty)]
        counters = {TRANSACTIONS: len(created)} if created else {}
        audit = events() if callable(events) else events
        write(Changes(created, updated, entries, accounts, counters, audit))
        self.discard()
