"""Idempotency keys: a retry never moves money twice.

A key is scoped to the user behind the request and to the mutation
("user:7:createTransaction"). The UNIQUE (scope, key) index decides races: the
loser's INSERT fails, and it answers with the winner's row, or with
IDEMPOTENCY_KEY_REUSED when its request fingerprint differs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError

from core.errors import ErrorCode, LedgerError
from transactions.models import Transaction

MAX_KEY_LENGTH = 255
RACE_RUNS = 3
T = TypeVar("T")


def idempotency_scope(actor: Any, operation: str) -> str:
    if actor is None or isinstance(actor, str):
        return f"system:{actor or 'ledger'}:{operation}"[:100]
    return f"user:{actor.pk}:{operation}"


def check_key(key: str | None) -> None:
    if key is not None and not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise LedgerError(
            ErrorCode.INVALID_INPUT, "The idempotency key must have 1 to 255 characters.", "idempotencyKey"
        )


def fingerprint(**request: object) -> str:
    """A digest of what the request asked for, to tell a retry from a reused key."""
    canonical = json.dumps(request, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(existing: Transaction, request_fingerprint: str) -> Transaction:
    """The original transaction, if this is the same request again."""
    if existing.request_fingerprint != request_fingerprint:
        raise key_reused()
    return existing


def key_reused() -> LedgerError:
    return LedgerError(
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        "This idempotency key was already used with a different request.",
        "idempotencyKey",
    )


def find_existing(scope: str, keys: list[str]) -> dict[str, Transaction]:
    if not keys:
        return {}
    rows = Transaction.objects.filter(idempotency_scope=scope, idempotency_key__in=keys)
    return {row.idempotency_key: row for row in rows if row.idempotency_key is not None}


def retry_on_key_race(run: Callable[[], T]) -> T:
    """Runs again when a concurrent request with the same key won the UNIQUE index.

    The second run sees the winner's committed row and answers with it (or with
    IDEMPOTENCY_KEY_REUSED), exactly as a later retry would.
    """
    for attempt in range(1, RACE_RUNS + 1):
        try:
            return run()
        except IntegrityError as error:
            if "idempotency" not in str(error) or attempt == RACE_RUNS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
