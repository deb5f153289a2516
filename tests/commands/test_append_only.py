"""The database itself refuses to rewrite history, whatever code sends the SQL (PostgreSQL and SQLite)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError

from accounts.models import Account
from audit.models import AuditEvent
from tests.commands.support import raw, verify
from transactions.models import Entry, Transaction

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE transactions_entry SET amount = amount + 1",
        "UPDATE transactions_entry SET hash = prev_hash",
        "DELETE FROM transactions_entry",
        "UPDATE audit_auditevent SET outcome = 'OK'",
        "DELETE FROM audit_auditevent",
        "DELETE FROM transactions_transaction",
        "UPDATE transactions_transaction SET amount = amount + 1",
        "UPDATE transactions_transaction SET sender_id = receiver_id, receiver_id = sender_id",
        "UPDATE transactions_transaction SET type = 'DEPOSIT' WHERE type <> 'DEPOSIT'",
    ],
)
def test_the_database_refuses_to_rewrite_history(busy_ledger: tuple[Account, Account], statement: str) -> None:
    entries = list(Entry.objects.order_by("pk").values_list("pk", "amount", "hash"))
    transactions = list(Transaction.objects.order_by("pk").values_list("pk", "sender", "receiver", "amount", "type"))
    events = AuditEvent.objects.count()
    with pytest.raises(DatabaseError, match="ledger"):
        raw(statement)
    assert list(Entry.objects.order_by("pk").values_list("pk", "amount", "hash")) == entries
    assert list(Transaction.objects.order_by("pk").values_list("pk", "sender", "receiver", "amount", "type")) == (
        transactions
    )
    assert AuditEvent.objects.count() == events
    assert verify()[0] == 0


def test_status_changes_remain_possible_for_the_services(busy_ledger: tuple[Account, Account]) -> None:
    """The trigger guards the money columns only: settling and cancelling must still update a row."""
    raw("UPDATE transactions_transaction SET description = description WHERE status = 'PENDING'")
