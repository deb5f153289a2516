"""The per-account hash chain of entries.

Each entry stores SHA-256(previous entry's hash | its own canonical content), so
rewriting any entry (or dropping one) breaks every hash after it. The first
entry of an account chains from 64 zeros. ``verify_ledger`` recomputes it with
this same function.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
# What an entry's hash covers besides the previous hash, as ``values_list`` columns in ``entry_hash``'s order.
HASHED_COLUMNS = ("account_id", "sequence", "transaction_id", "amount", "balance_after", "created_at")


def entry_hash(
    *,
    prev_hash: str,
    account_id: int,
    sequence: int,
    transaction_id: int,
    amount: int,
    balance_after: int,
    created_at: datetime,
) -> str:
    return rehash(prev_hash, (account_id, sequence, transaction_id, amount, balance_after, created_at))


def rehash(prev_hash: str, row: Sequence[Any]) -> str:
    """The hash of an entry given as a row of ``HASHED_COLUMNS``, chained from ``prev_hash`` (how auditors read it)."""
    account_id, sequence, transaction_id, amount, balance_after, created_at = row
    instant = created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    canonical = f"{prev_hash}|{account_id}|{sequence}|{transaction_id}|{amount}|{balance_after}|{instant}"
    return hashlib.sha256(canonical.encode()).hexdigest()
