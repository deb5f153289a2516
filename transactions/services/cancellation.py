"""Cancellation: a PENDING TED/DOC becomes FAILED (CANCELLED) before it settles, and its hold is released."""

from __future__ import annotations

from typing import Any

from audit.services import audit_event_build, audited_refusals
from core.db import retrying_atomic
from core.errors import ErrorCode
from transactions.models import FailureReason, Transaction, TransactionStatus
from transactions.posting import AccountBook
from transactions.services import telemetry
from transactions.services.common import CANCEL, require_found, require_status


@telemetry.reported(telemetry.cancel_done)
@audited_refusals(CANCEL)
def transaction_cancel(*, transaction_id: int, actor: Any = None) -> Transaction:
    """Returns the cancelled transaction."""
    return _cancel(transaction_id, actor)


@retrying_atomic("cancel")
def _cancel(transaction_id: int, actor: Any) -> Transaction:
    found, book = AccountBook.lock_transaction(transaction_id, parties=["sender_id"])
    tx = require_found(found)
    require_status(tx, TransactionStatus.PENDING, ErrorCode.NOT_CANCELLABLE, "cancelled")
    # After this point the cancellation must succeed.
    book.release(tx.sender_id, tx.amount)
    tx.status, tx.failure_reason = TransactionStatus.FAILED, FailureReason.CANCELLED
    event = audit_event_build(actor=actor, action=CANCEL, outcome="CANCELLED", about=tx)
    book.save(updated=[tx], events=[event])
    return tx
