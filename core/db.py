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

import contextvars
import functools
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    transaction,
)

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


# The statement_timeout (ms) each transaction of this request sets for itself: only behind a
# transaction-mode pooler, where a session setting would outlive the request (``transactions_bounded``).
_transaction_timeout_ms: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "ledger_transaction_statement_timeout", default=None
)


@contextmanager
def transactions_bounded(timeout_ms: int) -> Iterator[None]:
    """Within the block, each transaction ``retrying_atomic`` opens starts with ``SET LOCAL statement_timeout``.

    Behind pgbouncer in transaction mode a server connection belongs to this
    request only for one transaction; a session-level setting would stay on it
    for whichever client pgbouncer hands it to next. ``SET LOCAL`` ends with
    the transaction, so the bound never leaves the request.
    """
    token = _transaction_timeout_ms.set(max(timeout_ms, 0))
    try:
        yield
    finally:
        _transaction_timeout_ms.reset(token)


def bound_this_transaction(using: str = DEFAULT_DB_ALIAS) -> None:
    """Sets the request's ``transactions_bounded`` timeout for the transaction open on ``using``, if any is asked."""
    timeout_ms = _transaction_timeout_ms.get()
    if timeout_ms is None or connections[using].vendor != "postgresql":
        return
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{timeout_ms}ms"])


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
                        bound_this_transaction()
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
