"""Captures: a MANUAL hold (an authorization) posts all or part of its amount, and the whole hold is released.

The transaction is locked first, then its accounts (``AccountBook.lock_transaction``),
the order of every operation on an existing transaction: a capture, a cancel and
the expiry of one hold queue at the transaction, and the first to get it decides;
the others find it no longer PENDING. Whether the hold lapsed is judged by the
database's clock, read in the same statement as the locks.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError
from django.utils import timezone

from audit.services import audit_event_build, audited_refusals
from core.db import retrying_atomic
from core.errors import ErrorCode, LedgerError
from core.money import check_cents
from transactions.idempotency import check_key, idempotency_scope, key_reused
from transactions.models import CaptureMode, Transaction, TransactionStatus
from transactions.posting import AccountBook
from transactions.services import telemetry
from transactions.services.common import CAPTURE, require_found


@telemetry.reported(telemetry.capture_done)
@audited_refusals(CAPTURE)
def transaction_capture(
    *, transaction_id: int, amount: int | None = None, idempotency_key: str | None = None, actor: Any = None
) -> Transaction:
    """Returns the transaction, COMPLETED with ``captured_amount``; a retry with the same key returns it again.

    ``amount`` defaults to the whole held amount; the rest of the hold is given back.
    """
    if amount is not None:
        check_cents(amount)
    check_key(idempotency_key)
    key = f"{idempotency_scope(actor, CAPTURE)}:{idempotency_key}" if idempotency_key is not None else None
    try:
        return _capture(transaction_id, amount, key, actor)
    except IntegrityError:
        # The UNIQUE index on capture_key: this key already captured another transaction.
        if key is None or not Transaction.objects.filter(capture_key=key).exclude(pk=transaction_id).exists():
            raise
        raise key_reused() from None


@retrying_atomic("capture")
def _capture(transaction_id: int, amount: int | None, key: str | None, actor: Any) -> Transaction:
    found, book = AccountBook.lock_transaction(transaction_id)
    tx = require_found(found)
    if key is not None and tx.capture_key == key:  # a retry: the same outcome, if the same request
        if (amount or tx.amount) != tx.captured_amount:
            raise key_reused()
        return tx
    if tx.capture_mode != CaptureMode.MANUAL or tx.status != TransactionStatus.PENDING:
        raise LedgerError(
            ErrorCode.NOT_CAPTURABLE,
            f"Only a PENDING transaction created with captureMode MANUAL can be captured; this one is "
            f"{tx.status} ({tx.capture_mode}).",
            "transactionId",
        )
    assert tx.hold_expires_at is not None and book.clock is not None
    if book.clock >= tx.hold_expires_at:
        raise LedgerError(ErrorCode.HOLD_EXPIRED, "The hold expired at holdExpiresAt.", "transactionId")
    captured = tx.amount if amount is None else amount
    if captured > tx.amount:
        raise LedgerError(ErrorCode.AMOUNT_TOO_LARGE, "The capture is larger than the held amount.", "amount")
    # After this point the capture must succeed: the sender's hold covered the whole amount.
    now = timezone.now()
    book.release(tx.sender_id, tx.amount)
    book.post(tx, now, captured)
    tx.status, tx.completed_at, tx.capture_key = TransactionStatus.COMPLETED, now, key
    event = audit_event_build(
        actor=actor, action=CAPTURE, outcome="COMPLETED", about=tx, payload={"held": tx.amount, "captured": captured}
    )
    book.save(updated=[tx], events=[event])
    return tx
