"""O(1) totals: sharded counters bumped in the writer's own transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from django.db import connection
from django.db.models import QuerySet, Sum

from core.models import Counter

SLOTS = 16
ACCOUNTS = "accounts"
TRANSACTIONS = "transactions"


# Parameters: name, slot, amount. Also a CTE of transactions.writer's one-statement write.
COUNTER_UPSERT = (
    f"INSERT INTO {Counter._meta.db_table} (name, slot, value) VALUES (%s, %s, %s) "
    f"ON CONFLICT (name, slot) DO UPDATE SET value = {Counter._meta.db_table}.value + excluded.value"
)


def counter_slot() -> int:
    """One slot per thread: concurrent writers take different row locks.

    The kernel's thread id, not ``threading.get_ident()``: that is the address
    of the thread's pthread structure, aligned, so ``% 16`` was 0 for every
    thread on Linux and every writer queued on one row.
    """
    return threading.get_native_id() % SLOTS


def counter_add(name: str, amount: int = 1) -> None:
    """Adds ``amount`` to ``name`` inside the caller's transaction (an upsert)."""
    with connection.cursor() as cursor:
        cursor.execute(COUNTER_UPSERT, [name, counter_slot(), amount])


def counter_total(name: str) -> int:
    return int(Counter.objects.filter(name=name).aggregate(total=Sum("value"))["total"] or 0)


def count_matching(name: str, matching: Callable[..., QuerySet[Any]], filters: Mapping[str, object]) -> int:
    """How many rows ``matching(**filters)`` holds: counter ``name``'s O(1) total when no filter is given.

    A list's total is asked on every page; only a filtered one pays for a COUNT.
    """
    if all(value is None for value in filters.values()):
        return counter_total(name)
    return matching(**filters).count()
