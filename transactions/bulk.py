"""Set-based inserts of transactions and entries: COPY on PostgreSQL.

Django's ``bulk_create`` spends most of a 1,000-transfer batch compiling
30,000 placeholders. On PostgreSQL we take the pks from the sequence in one
statement and stream the rows with ``COPY``; elsewhere (SQLite) ``bulk_create``
does the same job. Both paths write the same rows, and the database's
constraints and triggers apply to both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connection

from transactions.models import Entry, Transaction

if TYPE_CHECKING:
    from transactions.posting import Posting

_TRANSACTION_COLUMNS = (
    "id",
    "sender_id",
    "receiver_id",
    "amount",
    "type",
    "status",
    "failure_reason",
    "description",
    "idempotency_scope",
    "idempotency_key",
    "request_fingerprint",
    "created_at",
    "due_at",
    "completed_at",
    "reverses_id",
)
_ENTRY_COLUMNS = (
    "account_id",
    "transaction_id",
    "amount",
    "balance_after",
    "sequence",
    "prev_hash",
    "hash",
    "created_at",
)


def insert_transactions(rows: list[Transaction]) -> None:
    """Inserts new transactions and sets their pks."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Transaction.objects.bulk_create(rows)
        return
    table = Transaction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(rows)]
        )
        for row, (pk,) in zip(rows, cursor.fetchall(), strict=True):
            row.pk = pk
            row._state.adding = False
            row._state.db = connection.alias
        # Raw psycopg COPY: wrapped so that a UNIQUE violation is Django's IntegrityError, as elsewhere.
        with (
            connection.wrap_database_errors,
            cursor.cursor.copy(f"COPY {table} ({', '.join(_TRANSACTION_COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row([getattr(row, column) for column in _TRANSACTION_COLUMNS])


def insert_entries(rows: list[Posting]) -> None:
    if not rows:
        return
    if connection.vendor != "postgresql":
        Entry.objects.bulk_create([row.as_entry() for row in rows])
        return
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {Entry._meta.db_table} ({', '.join(_ENTRY_COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([getattr(row, column) for column in _ENTRY_COLUMNS])
