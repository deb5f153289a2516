"""Metrics and log lines of the money operations, kept out of the operations themselves.

Each is reported after its database transaction committed (or was refused), by
the caller or by the ``reported`` decorator: a retried or rolled-back attempt
counts nothing.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from core import metrics
from core.errors import LedgerError
from transactions.models import Transaction, TransactionStatus, TransactionType

if TYPE_CHECKING:
    from transactions.services.transfers import TransferResult

logger = logging.getLogger("ledger.money")
P = ParamSpec("P")
R = TypeVar("R")


def reported(
    done: Callable[[R], None], refused: Callable[[LedgerError], None] | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Calls ``done`` with the operation's result, or ``refused`` with the error it raised."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                outcome = func(*args, **kwargs)
            except LedgerError as error:
                if refused is not None:
                    refused(error)
                raise
            done(outcome)
            return outcome

        return wrapper

    return decorate


def transfers_done(operation: str, atomic: bool, results: Sequence[TransferResult]) -> None:
    """Counts each item by type and outcome; logs a transfer, or a batch with its tally."""
    tally: Counter[tuple[str, str]] = Counter()
    for result in results:
        tx = result.transaction
        # A rejected item was never recorded, so it has no type: its outcome is its error code.
        rejected_code = result.error.code.value if result.error else "UNKNOWN"
        tally[(tx.type, tx.status) if tx is not None else ("NONE", rejected_code)] += 1
    for (kind, outcome), count in tally.items():
        metrics.TRANSFERS.labels(kind, outcome).inc(count)
    if len(results) == 1:
        tx, error = results[0].transaction, results[0].error
        logger.info(
            "transfer",
            extra={
                "operation": operation,
                "transaction_id": tx.pk if tx else None,
                "type": tx.type if tx else None,
                "outcome": error.code if error else tx.status if tx else None,
            },
        )
    else:
        logger.info(
            "transfer batch",
            extra={
                "operation": operation,
                "items": len(results),
                "atomic": atomic,
                "outcomes": {f"{kind}:{outcome}": count for (kind, outcome), count in tally.items()},
            },
        )


def reversal_done(outcome: tuple[Transaction, Transaction]) -> None:
    metrics.TRANSFERS.labels(TransactionType.REVERSAL, TransactionStatus.COMPLETED).inc()
    logger.info("reversal", extra={"transaction_id": outcome[1].pk, "type": "REVERSAL", "outcome": "COMPLETED"})


def reversal_refused(error: LedgerError) -> None:
    metrics.TRANSFERS.labels(TransactionType.REVERSAL, "REJECTED").inc()


def cancel_done(tx: Transaction) -> None:
    logger.info("cancel", extra={"transaction_id": tx.pk, "type": tx.type, "outcome": "CANCELLED"})


def capture_done(tx: Transaction) -> None:
    logger.info("capture", extra={"transaction_id": tx.pk, "type": tx.type, "outcome": "CAPTURED"})


def settled(due: Sequence[Transaction]) -> None:
    """Counts a settlement step's rows: posted ones as SETTLED, lapsed holds as EXPIRED."""
    posted = [tx for tx in due if tx.status == TransactionStatus.COMPLETED]
    metrics.SETTLED.inc(len(posted))
    for tx in due:
        metrics.TRANSFERS.labels(tx.type, "SETTLED" if tx in posted else "EXPIRED").inc()
