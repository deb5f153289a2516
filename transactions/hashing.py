"""The per-account hash chain of entries.

Each entry stores SHA-256(previous entry's hash | its own canonical content), so
rewriting any entry (or dropping one) breaks every hash after it. The first
entry of an account chains from 64 zeros. ``verify_ledger`` recomputes it with
this same function.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

GENESIS_HASH = "0" * 64


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
    instant = created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    canonical = f"{prev_hash}|{account_id}|{sequence}|{transaction_id}|{amount}|{balance_after}|{instant}"
    return hashlib.sha256(canonical.encode()).hexdigest()
