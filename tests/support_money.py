"""Helpers for the money-controls tests: MANUAL specs and a hold made to lapse now."""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from accounts.models import Account
from transactions.models import Transaction
from transactions.services import TransferSpec


def manual(
    sender: Account, receiver: Account, amount: int, kind: str = "PIX", expires: datetime | None = None
) -> TransferSpec:
    """An authorization: captureMode MANUAL."""
    return TransferSpec(sender.pk, receiver.pk, amount, kind, capture_mode="MANUAL", hold_expires_at=expires)


def expire_now(tx: Transaction) -> None:
    """Moves a hold's expiry to the database's present (as if its time had come): an operator's clock, not ours."""
    now = "CURRENT_TIMESTAMP" if connection.vendor == "postgresql" else "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE transactions_transaction SET hold_expires_at = {now} WHERE id = %s", [tx.pk])
