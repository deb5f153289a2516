"""Reads of transactions and entries, for the API and the admin.

Lists come back unpaginated and unordered: the API's keyset pagination
(``core.graphql.connection``) adds the order and the bounds. Lists that belong
to an account come back *not* filtered by it, with the fields that tie a row to
its account (``TRANSACTION_SIDES``, ``ENTRY_OWNER``), so that a page of
accounts can load all their lists at once (``core.graphql.nested``).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery

from accounts.models import Account
from core.counters import TRANSACTIONS, count_matching
from core.metadata import Pairs, with_metadata
from transactions.models import Entry, Transaction

# The fields that make an account part of a transaction, by the API's TransactionDirection.
TRANSACTION_SIDES: dict[str, tuple[str, ...]] = {
    "SENT": ("sender_id",),
    "RECEIVED": ("receiver_id",),
    "ALL": ("sender_id", "receiver_id"),
}
ENTRY_OWNER = ("account_id",)
# A transaction is always shown with its two parties: joined, never fetched one by one.
PARTIES = ("sender", "receiver")


def transactions_with_parties() -> QuerySet[Transaction]:
    """Transactions with their sender and receiver joined (every view of one shows them)."""
    return Transaction.objects.select_related(*PARTIES)


def transaction_list(
    *,
    status: str | None = None,
    type: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    metadata: Pairs | None = None,
) -> QuerySet[Transaction]:
    """Transactions matching the filters, their parties joined; ``metadata``: every (key, value) pair carried."""
    transactions = with_metadata(transactions_with_parties(), metadata)
    if status:
        transactions = transactions.filter(status=status)
    if type:
        transactions = transactions.filter(type=type)
    if created_after is not None:
        transactions = transactions.filter(created_at__gt=created_after)
    if created_before is not None:
        transactions = transactions.filter(created_at__lt=created_before)
    return transactions


def transaction_count(**filters: object) -> int:
    """O(1) from the counters when unfiltered; an indexed COUNT otherwise."""
    return count_matching(TRANSACTIONS, transaction_list, filters)


def account_transaction_total(account: Account, direction: str) -> int:
    """O(1): the account's own counters, kept in the writer's transaction."""
    return {"SENT": account.sent_count, "RECEIVED": account.received_count}.get(
        direction, account.sent_count + account.received_count
    )


def transactions_by_pk(pks: set[int]) -> list[Transaction]:
    return list(transactions_with_parties().filter(pk__in=pks))


def entry_list(*, since: datetime | None = None, until: datetime | None = None) -> QuerySet[Entry]:
    """Entries posted within [since, until] (either open)."""
    entries = Entry.objects.all()
    if since is not None:
        entries = entries.filter(created_at__gte=since)
    if until is not None:
        entries = entries.filter(created_at__lte=until)
    return entries


def entries_by_pk(pks: set[int]) -> list[Entry]:
    return list(Entry.objects.filter(pk__in=pks))


def balances_at(account_ids: set[int], at: datetime) -> dict[int, int]:
    """Each account's posted balance at ``at``: the running balance of its last entry posted by then.

    One statement for any number of accounts (a correlated subquery on the
    (account, created_at, sequence) index); 0 before an account's first entry.
    """
    last = (
        Entry.objects.filter(account=OuterRef("pk"), created_at__lte=at)
        .order_by("-sequence")
        .values("balance_after")[:1]
    )
    rows = (
        Account.objects.filter(pk__in=account_ids).annotate(balance_at=Subquery(last)).values_list("pk", "balance_at")
    )
    return {pk: balance or 0 for pk, balance in rows}
