"""Helpers for the money-controls tests: MANUAL specs, a hold made to lapse now, the error a call raises."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from django.db import connection

from accounts.models import Account
from core.errors import LedgerError
from transactions.models import Transaction
from transactions.services import TransferSpec
from transactions.triggers import HOLD_TERMS_IMMUTABLE


def manual(
    sender: Account, receiver: Account, amount: int, kind: str = "PIX", expires: datetime | None = None
) -> TransferSpec:
    """An authorization: captureMode MANUAL."""
    return TransferSpec(sender.pk, receiver.pk, amount, kind, capture_mode="MANUAL", hold_expires_at=expires)


def expire_now(tx: Transaction) -> None:
    """Moves a hold's expiry to the database's present (as if its time had come): an operator's clock, not ours.

    The database refuses to change a hold's expiry (``transaction_hold_terms_immutable``) to every role but
    the table's owner, who can lift a trigger: the test's role is that owner, and lifts it for this one UPDATE.
    """
    postgresql = connection.vendor == "postgresql"
    now = "CURRENT_TIMESTAMP" if postgresql else "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    with connection.cursor() as cursor:
        if postgresql:  # replica mode fires no ordinary trigger, for this session only
            cursor.execute("SET session_replication_role = replica")
        else:
            cursor.execute("DROP TRIGGER transaction_hold_terms_immutable")
        try:
            cursor.execute(f"UPDATE transactions_transaction SET hold_expires_at = {now} WHERE id = %s", [tx.pk])
        finally:
            if postgresql:
                cursor.execute("RESET session_replication_role")
            else:
                (create,) = HOLD_TERMS_IMMUTABLE.forward["sqlite"]
                cursor.execute(create)


def refused(run: Callable[..., object]) -> LedgerError:
    """The ``LedgerError`` that ``run`` raises (the test fails if it raises none)."""
    with pytest.raises(LedgerError) as caught:
        run()
    return caught.value
