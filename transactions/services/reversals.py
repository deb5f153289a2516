"""Reversals (refunds): all or part of a COMPLETED transaction's money moves back, at once.

Several partial reversals may follow one another until the captured amount is
used up; the original stays COMPLETED until then, and becomes REVERTED with the
one that completes it. Each runs under the original's row lock, so racing ones
queue there and each sees what the previous ones took; the database's CHECK
(``reversed_amount <= captured_amount``) refuses any excess too.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_event_build, audited_refusals
from core.db import retrying_atomic
from core.errors import ErrorCode, LedgerError
from core.money import check_cents
from transactions.idempotency import check_key, find_existing, fingerprint, idempotency_scope, replay, retry_on_key_race
from transactions.models import Transaction, TransactionStatus, TransactionType
from transactions.posting import AccountBook
from transactions.services import telemetry
from transactions.services.common import REVERSE, check_description, check_may_receive, require_found, require_status


@telemetry.reported(telemetry.reversal_done, telemetry.reversal_refused)
@audited_refusals(REVERSE)
def transaction_reverse(
    *,
    transaction_id: int,
    amount: int | None = None,
    description: str = "",
    idempotency_key: str | None = None,
    actor: Any = None,
) -> tuple[Transaction, Transaction]:
    """Returns the original and the new REVERSAL; a retry with the same key returns them again.

    ``amount`` defaults to what remains unreversed (captured - reversed so far).
    """
    if amount is not None:
        check_cents(amount)
    check_description(description)
    check_key(idempotency_key)
    return retry_on_key_race(lambda: _reverse(transaction_id, amount, description, idempotency_key, actor))


@retrying_atomic("reverse")
def _reverse(
    transaction_id: int, amount: int | None, description: str, key: str | None, actor: Any
) -> tuple[Transaction, Transaction]:
    found, book = AccountBook.lock_transaction(transaction_id, reserve=1)  # the reversal's pk
    original = require_found(found)
    # The amount joins the fingerprint only when given: a full reversal keeps the fingerprint it always had.
    asked = {"amount": amount} if amount is not None else {}
    scope = idempotency_scope(actor, REVERSE)
    digest = fingerprint(transaction=transaction_id, description=description, **asked)
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
    require_status(original, TransactionStatus.COMPLETED, ErrorCode.NOT_REVERSIBLE, "reversed")
    assert original.captured_amount is not None  # COMPLETED: money moved
    remaining = original.captured_amount - original.reversed_amount
    refund = remaining if amount is None else amount
    if refund > remaining:
        raise LedgerError(ErrorCode.AMOUNT_TOO_LARGE, f"At most {remaining} centavos remain to be reversed.", "amount")
    # The original receiver pays back: a FROZEN one may (that is how a fraud freeze returns money).
    check_may_receive(book[original.receiver_id], "transactionId")
    check_may_receive(book[original.sender_id], "transactionId")
    if not book.can_spend(original.receiver_id, refund):
        raise LedgerError(
            ErrorCode.INSUFFICIENT_FUNDS, "The receiver's available balance cannot cover the reversal.", "transactionId"
        )
    # After this point the reversal must succeed.
    now = timezone.now()
    reversal = Transaction(
        sender_id=original.receiver_id,
        receiver_id=original.sender_id,
        amount=refund,
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
    original.reversed_amount += refund
    if original.reversed_amount == original.captured_amount:
        original.status = TransactionStatus.REVERTED
    book.save(created=[reversal], updated=[original], events=lambda: [_event(actor, original, reversal)])
    return original, reversal


def _event(actor: Any, original: Transaction, reversal: Transaction) -> AuditEvent:
    """The operation's one event (records.md): about the original, the reversal among its subjects."""
    return audit_event_build(
        actor=actor,
        action=REVERSE,
        outcome="COMPLETED",
        about=original,
        touched=(reversal,),
        payload={"reversal": reversal.pk, "amount": reversal.amount, "reversed_amount": original.reversed_amount},
    )
