"""Reads of accounts, for the API and the admin."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import Account
from core.counters import ACCOUNTS, counter_total
from core.documents import normalize_document
from core.metadata import Pairs, with_metadata


def account_list(
    *, search: str | None = None, kind: str | None = None, metadata: Pairs | None = None
) -> QuerySet[Account]:
    """``search`` matches a name (case-insensitive substring) or a document (exact, normalized); ``metadata``
    keeps the accounts carrying every (key, value) pair."""
    accounts = with_metadata(Account.objects.all(), metadata)
    if search and search.strip():
        accounts = accounts.filter(Q(name__icontains=search.strip()) | Q(document=normalize_document(search)))
    if kind:
        accounts = accounts.filter(kind=kind)
    return accounts


def account_count(*, search: str | None = None, kind: str | None = None, metadata: Pairs | None = None) -> int:
    """O(1) from the counters when unfiltered (settlement account included); a COUNT otherwise."""
    if not (search and search.strip()) and not kind and not metadata:
        return counter_total(ACCOUNTS)
    return account_list(search=search, kind=kind, metadata=metadata).count()


def accounts_by_pk(pks: set[int]) -> list[Account]:
    return list(Account.objects.filter(pk__in=pks))


def account_get(pk: int) -> Account | None:
    return Account.objects.filter(pk=pk).first()
