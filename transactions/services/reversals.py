"""Reversals: a COMPLETED transaction's money moves back, at once, and the original becomes REVERTED."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_event_build, audited_refusals
from core.db import retrying_atomic
from core.errors import ErrorCode, LedgerError
from transactions.idempotency import check_key, find_existing, fingerprint, idempotency_scope, replay, retry_on_key_race
from transactions.models import Transaction, TransactionStatus, TransactionType
from transactions.posting import AccountBook
from transactions.services import telemetry
from transactions.services.common import REVERSE, check_description


@telemetry.reported(telemetry.reversal_done, telemetry.reversal_refused)
@audited_refusals(REVERSE)
def transaction_reverse(
    *, transaction_id: int, description: str = "", idempotency_key: str | None = None, actor: Any = None
) -> tuple[Transaction, Transaction]:
    """Returns the original (now REVERTED) and its reversal; a retry with the same key returns them again."""
    check_description(description)
    check_key(idempotency_key)
    return retry_on_key_race(lambda: _reverse(transaction_id, description, idempotency_key, actor))


@retrying_atomic("reverse")
def _reverse(transaction_id: int, description: str, key: str | None, actor: Any) -> tuple[Transaction, Transaction]:
    original, book = AccountBook.lock_transaction(transaction_id)
    if original is None:
        raise LedgerError(ErrorCode.TRANSACTION_NOT_FOUND, "No such transaction.", "transactionId")
    scope, digest = idempotency_scope(actor, REVERSE), fingerprint(transaction=transaction_id, description=description)
    # Checked under the original's lock: a concurrent retry with this key has committed by now.
    existing = find_existing(scope, [key] if key else [])
    if key in existing:
        reversal = replay(existing[key], digest)
        assert reversal.reverses is not None
        return reversal.reverses, reversal
    if original.type == TransactionType.REVERSAL:
        raise LedgerError(ErrorCode.NOT_REVERSIBLE, "A reversal cannot be reversed.", "transactionId")
    if original.status == TransactionStatus.REVERTED:
        raise LedgerError(ErrorCode.ALREADY_REVERTED, "This transaction was already reversed.", "transactionId")
    if original.status != TransactionStatus.COMPLETED:
        raise LedgerError(
            ErrorCode.NOT_REVERSIBLE,
            f"Only COMPLETED transactions can be reversed; this one is {original.status}.",
            "transactionId",
        )
    if not book.can_spend(original.receiver_id, original.amount):
        raise LedgerError(
            ErrorCode.INSUFFICIENT_FUNDS, "The receiver's available balance cannot cover the reversal.", "transactionId"
        )
    # After this point the reversal must succeed.
    now = timezone.now()
    reversal = Transaction(
        sender_id=original.receiver_id,
        receiver_id=original.sender_id,
        amount=original.amount,
        type=TransactionType.REVERSAL,
        status=TransactionStatus.COMPLETED,
        description=description,
        idempotency_scope=scope if key else None,
        idempotency_key=key,
        request_fingerprint=digest,
        created_at=now,
        completed_at=now,
        reverses=original,
    )
    book.count_transaction(reversal.sender_id, reversal.receiver_id)
    book.post(reversal, now)
    original.status = TransactionStatus.REVERTED
    book.save(created=[reversal], updated=[original], events=lambda: _events(actor, original, reversal))
    return original, reversal


def _events(actor: Any, original: Transaction, reversal: Transaction) -> list[AuditEvent]:
    """One event per transaction, each naming the other."""
    return [
        audit_event_build(
            actor=actor,
            action=REVERSE,
            outcome="COMPLETED",
            about=original,
            payload={"reversal": reversal.pk},
        ),
        audit_event_build(
            actor=actor,
            action=REVERSE,
            outcome="COMPLETED",
            about=reversal,
            payload={"reverses": original.pk},
        ),
    ]
