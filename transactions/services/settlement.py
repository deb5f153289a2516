"""Settlement: the worker posts due PENDING transactions (TED, DOC) and expires lapsed MANUAL holds.

The table is the queue: each step claims up to ``batch_size`` rows with
``FOR UPDATE SKIP LOCKED`` and handles them in one database transaction, so
several workers share the queue, each row settles or expires once, and a
killed worker leaves its step wholly undone for the next one. A TED/DOC is due
at ``due_at``; a MANUAL hold (``due_at`` null: never settled by the worker)
lapses at ``hold_expires_at`` by the database's clock and becomes FAILED
(EXPIRED), its hold released; the worker never captures one.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from audit.services import audit_event_build
from core.db import retrying_atomic
from transactions.models import CaptureMode, FailureReason, Transaction, TransactionStatus
from transactions.posting import AccountBook
from transactions.services import telemetry
from transactions.services.common import EXPIRE, SETTLE, SETTLE_ACTOR


def transactions_settle_due(*, limit: int | None = None, batch_size: int | None = None) -> int:
    """Settles every due PENDING transaction and expires every lapsed hold (up to ``limit``); returns how many."""
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
    lapsed = Q(capture_mode=CaptureMode.MANUAL, hold_expires_at__lte=Now())  # the database's clock
    due = list(
        Transaction.objects.select_for_update(skip_locked=True)
        .filter(Q(due_at__lte=now) | lapsed, status=TransactionStatus.PENDING)
        .order_by("id")[:size]
    )
    if not due:
        return []
    book = AccountBook.lock([i for tx in due for i in (tx.sender_id, tx.receiver_id)])
    events = []
    for tx in due:
        book.release(tx.sender_id, tx.amount)
        if tx.capture_mode == CaptureMode.MANUAL:
            tx.status, tx.failure_reason = TransactionStatus.FAILED, FailureReason.EXPIRED
            events.append(audit_event_build(actor=SETTLE_ACTOR, action=EXPIRE, outcome="EXPIRED", about=tx))
        else:
            book.post(tx, now)
            tx.status, tx.completed_at = TransactionStatus.COMPLETED, now
            events.append(audit_event_build(actor=SETTLE_ACTOR, action=SETTLE, outcome="COMPLETED", about=tx))
    book.save(updated=due, events=events)
    return due
