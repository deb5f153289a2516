"""Settlement: the worker posts due PENDING transactions (TED, DOC) and releases their holds.

The table is the queue: each step claims up to ``batch_size`` due rows with
``FOR UPDATE SKIP LOCKED`` and settles them in one database transaction, so
several workers share the queue, each row settles once, and a killed worker
leaves its step wholly undone for the next one.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from audit.services import audit_event_build
from core.db import retrying_atomic
from transactions.models import Transaction, TransactionStatus
from transactions.posting import AccountBook
from transactions.services import telemetry
from transactions.services.common import SETTLE, SETTLE_ACTOR


def transactions_settle_due(*, limit: int | None = None, batch_size: int | None = None) -> int:
    """Settles every due PENDING transaction (up to ``limit``); returns how many."""
    size = batch_size or settings.LEDGER_SETTLE_BATCH
    settled = 0
    while limit is None or settled < limit:
        step = size if limit is None else min(size, limit - settled)
        done = _settle_step(step)
        if done:
            telemetry.settled(done)
        settled += len(done)
        if len(done) < step:
            break
    return settled


@retrying_atomic("settle")
def _settle_step(size: int) -> list[Transaction]:
    now = timezone.now()
    due = list(
        Transaction.objects.select_for_update(skip_locked=True)
        .filter(status=TransactionStatus.PENDING, due_at__lte=now)
        .order_by("due_at", "id")[:size]
    )
    if not due:
        return []
    book = AccountBook.lock([i for tx in due for i in (tx.sender_id, tx.receiver_id)])
    for tx in due:
        book.release(tx.sender_id, tx.amount)
        book.post(tx, now)
        tx.status, tx.completed_at = TransactionStatus.COMPLETED, now
    events = [audit_event_build(actor=SETTLE_ACTOR, action=SETTLE, outcome="COMPLETED", about=tx) for tx in due]
    book.save(updated=due, events=events)
    return due
