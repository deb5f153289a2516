"""Database transactions that survive serialization failures and deadlocks.

Each business operation is one database transaction. PostgreSQL may abort one
with SQLSTATE 40001 (serialization failure, under SERIALIZABLE) or 40P01
(deadlock detected); the whole unit is then safe to run again, so we do, a
bounded number of times with jittered exponential backoff. The caller never
sees a deadlock unless every attempt failed.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from core import metrics

P = ParamSpec("P")
R = TypeVar("R")

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


def is_retryable(error: BaseException) -> bool:
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES


def retrying_atomic(operation: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Runs the function in ``transaction.atomic()``, retried on 40001/40P01.

    Only the outermost call retries: inside another atomic block a retry would
    replay part of an aborted transaction, so the error is left to the outer one.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if connection.in_atomic_block:
                with transaction.atomic():
                    return func(*args, **kwargs)
            attempts = max(1, settings.LEDGER_MAX_RETRIES)
            for attempt in range(1, attempts + 1):
                try:
                    with transaction.atomic():
                        return func(*args, **kwargs)
                except DatabaseError as error:
                    if attempt == attempts or not is_retryable(error):
                        raise
                    metrics.RETRIES.labels(operation).inc()
                    time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))
            raise AssertionError("unreachable")  # pragma: no cover

        return wrapper

    return decorate
