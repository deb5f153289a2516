"""The posting engine: locked accounts, in memory, written back in one statement.

Every service that moves money does it the same way:
1. ``AccountBook.lock(ids)`` takes the row locks with one ``SELECT ... FOR UPDATE``
   ordered by pk: a fixed lock order, so A->B and B->A cannot deadlock.
2. Rules are decided against the locked rows, in memory (``available``,
   ``hold``, ``post``), in list order for a batch.
3. ``AccountBook.save`` writes everything, whatever the number of transfers,
   in one statement on PostgreSQL (``transactions.bulk``).
Sequences, running balances and the hash chain are assigned under the row lock,
so each account's statement is gapless and in commit order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from accounts.models import Account
from audit.models import AuditEvent
from core.counters import TRANSACTIONS
from transactions.bulk import Changes, write
from transactions.hashing import entry_hash
from transactions.models import Entry, Transaction


@dataclass(slots=True)
class Posting:
    """An entry about to be written: lighter than a model instance, which a batch makes 2,000 of."""

    account_id: int
    transaction: Transaction
    amount: int
    balance_after: int
    sequence: int
    created_at: datetime
    prev_hash: str = ""
    hash: str = ""

    @property
    def transaction_id(self) -> int:
        return self.transaction.pk

    def as_entry(self) -> Entry:
        return Entry(
            account_id=self.account_id,
            transaction_id=self.transaction_id,
            amount=self.amount,
            balance_after=self.balance_after,
            sequence=self.sequence,
            prev_hash=self.prev_hash,
            hash=self.hash,
            created_at=self.created_at,
        )


class AccountBook:
    """The locked accounts of one database transaction and their pending changes."""

    def __init__(self, accounts: Iterable[Account]) -> None:
        self.accounts: dict[int, Account] = {account.pk: account for account in accounts}
        self.dirty: set[int] = set()
        self.entries: list[Posting] = []

    @classmethod
    def lock(cls, ids: Iterable[int]) -> AccountBook:
        wanted = sorted(set(ids))
        if not wanted:
            return cls([])
        # Ordered by pk: the one lock order of the whole ledger. Written by hand because it runs
        # once per transfer and the ORM would compile the same SQL every time; ``raw`` still
        # builds the instances with the backend's converters.
        placeholders = ", ".join(["%s"] * len(wanted))
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        rows = Account.objects.raw(
            f"SELECT * FROM {Account._meta.db_table} WHERE id IN ({placeholders}) ORDER BY id{lock}", wanted
        )
        return cls(list(rows))

    def __contains__(self, account_id: int) -> bool:
        return account_id in self.accounts

    def __getitem__(self, account_id: int) -> Account:
        return self.accounts[account_id]

    def available(self, account_id: int) -> int | None:
        """What the account may spend; None for the settlement account (no limit)."""
        account = self.accounts[account_id]
        if account.kind == "SETTLEMENT":
            return None
        return account.balance - account.held

    def can_spend(self, account_id: int, amount: int) -> bool:
        available = self.available(account_id)
        return available is None or available >= amount

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

    def post(self, transaction: Transaction, now: datetime) -> None:
        """Moves the posted balances now; the two entries are written by ``seal``.

        The transaction may not have its pk yet (a batch inserts them all at
        once), and each entry's hash covers that pk: so balances, sequences and
        running balances are fixed here, in posting order, and the hashes in
        ``seal`` once the pks exist.
        """
        self._entry(transaction.sender_id, transaction, -transaction.amount, now)
        self._entry(transaction.receiver_id, transaction, transaction.amount, now)

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

    def save(self, *, created: Sequence[Transaction] = (), events: Sequence[AuditEvent] = ()) -> None:
        """Writes the entries, every changed account and whatever the caller adds, in one statement on PostgreSQL.

        ``created`` are new transactions whose pks ``reserve_ids`` already set;
        they are added to the transactions counter.
        """
        entries = self.seal()
        accounts = [self.accounts[pk] for pk in sorted(self.dirty)]
        counters = {TRANSACTIONS: len(created)} if created else {}
        write(Changes(transactions=created, entries=entries, accounts=accounts, counters=counters, events=events))
        self.entries = []
        self.dirty.clear()
