"""Database transactions that survive serialization failures and deadlocks.

Each business operation is one database transaction. PostgreSQL may abort one
with SQLSTATE 40001 (serialization failure, under SERIALIZABLE) or 40P01
(deadlock detected); the whole unit is then safe to run again, so we do, with
jittered exponential backoff, until a time budget (``LEDGER_RETRY_BUDGET_MS``)
is spent. A budget and not a count: under SERIALIZABLE every transaction that
waited for a row lock aborts when the holder commits, so under contention a
count of quick retries is used up in a few hundred milliseconds, while a pause
that grows lets the waiters spread out and commit one after another.

A lost connection (the server died, a failover) is retried the same way, but
only when it was lost before COMMIT was sent: then nothing was committed and
the unit is safe to run again on a new connection (multi-host URLs find the new
primary). Lost while committing, the outcome is unknown: the error goes up, the
client is answered UNAVAILABLE, and its retry with the same idempotency key
returns the transaction if it did commit.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction

from core import metrics

P = ParamSpec("P")
R = TypeVar("R")

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
BACKOFF_BASE_S = 0.001
BACKOFF_CAP_S = 0.1


# Connection exceptions (class 08) and the server going away (admin shutdown, crash, starting up).
LOST_CONNECTION_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def is_retryable(error: BaseException) -> bool:
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES


def connection_lost(error: BaseException) -> bool:
    """The database connection broke (or could not be made): the server is gone, not the request wrong."""
    if isinstance(error, InterfaceError):
        return True  # "connection already closed": a connection that broke earlier
    if not isinstance(error, OperationalError):
        return False
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in LOST_CONNECTION_SQLSTATES


def backoff(attempt: int) -> float:
    """Seconds to wait before try ``attempt + 1``: full jitter over 1 ms doubling up to 100 ms."""
    return random.uniform(0, min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt))


def retrying_atomic(operation: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Runs the function in ``transaction.atomic()``, retried on 40001/40P01 and on a connection lost before COMMIT.

    Only the outermost call retries: inside another atomic block a retry would
    replay part of an aborted transaction, so the error is left to the outer one.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if connection.in_atomic_block:
                with transaction.atomic():
                    return func(*args, **kwargs)
            deadline = time.monotonic() + settings.LEDGER_RETRY_BUDGET_MS / 1000
            attempt = 0
            while True:
                attempt += 1
                committing = False
                try:
                    with transaction.atomic():
                        result = func(*args, **kwargs)
                        committing = True  # leaving the block sends COMMIT
                    return result
                except DatabaseError as error:
                    pause = backoff(attempt)
                    safe_again = is_retryable(error) or (connection_lost(error) and not committing)
                    if not safe_again or time.monotonic() + pause > deadline:
                        raise
                    if connection_lost(error):
                        connection.close()  # the next attempt connects anew
                    metrics.RETRIES.labels(operation).inc()
                    time.sleep(pause)

        return wrapper

    return decorate
