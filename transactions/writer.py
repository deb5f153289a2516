"""The writer: everything one posting writes, and the only code that writes it.

A posting is what ``transactions.posting.AccountBook`` decides: new transactions,
status changes of existing ones, entries (``Posting``), account rows, counters and
audit events. On PostgreSQL it goes in **one statement**: data-modifying CTEs that
``INSERT ... SELECT FROM unnest(arrays)`` and ``UPDATE ... FROM unnest``, one round
trip instead of one per table. A batch of more than ``COPY_ABOVE`` transactions
streams its transactions and entries with ``COPY`` first (cheaper than rendering
thousands of array elements as text) and sends the rest in the statement. The new
transactions' pks are drawn from their sequence first (by the lock's statement,
``AccountBook.lock(reserve=)``, else ``reserve_ids``), because each entry's hash
covers its transaction's pk.

On SQLite, which has no sequences, ``reserve_ids`` inserts the transactions
(``bulk_create`` returns their pks) and ``write`` issues one statement per table.
Both paths write the same rows, and the database's constraints and triggers
apply to both. This module knows nothing of the book: it imports no ledger rule.
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone

from accounts.models import Account
from audit.models import AuditEvent
from core.counters import COUNTER_UPSERT, counter_add, counter_slot
from transactions.models import STATUS_FIELDS, Entry, Transaction

Columns = tuple[tuple[str, str], ...]  # (column, PostgreSQL array type) pairs

# (column, PostgreSQL array type) of each table, in the order of the unnest() arguments.
_TRANSACTION_COLUMNS: Columns = (
    ("id", "bigint"),
    ("sender_id", "bigint"),
    ("receiver_id", "bigint"),
    ("amount", "bigint"),
    ("type", "text"),
    ("status", "text"),
    ("failure_reason", "text"),
    ("description", "text"),
    ("idempotency_scope", "text"),
    ("idempotency_key", "text"),
    ("request_fingerprint", "text"),
    ("created_at", "timestamptz"),
    ("due_at", "timestamptz"),
    ("completed_at", "timestamptz"),
    ("reverses_id", "bigint"),
    ("metadata", "jsonb"),
    ("capture_mode", "text"),
    ("hold_expires_at", "timestamptz"),
    ("captured_amount", "bigint"),
    ("reversed_amount", "bigint"),
    ("capture_key", "text"),
)
# A Posting's attributes, by name (Posting below).
_ENTRY_COLUMNS: Columns = (
    ("account_id", "bigint"),
    ("transaction_id", "bigint"),
    ("amount", "bigint"),
    ("balance_after", "bigint"),
    ("sequence", "bigint"),
    ("prev_hash", "text"),
    ("hash", "text"),
    ("created_at", "timestamptz"),
)
# A status change of an existing transaction, keyed by id.
_STATUS_COLUMNS: Columns = (("id", "bigint"), *(c for c in _TRANSACTION_COLUMNS if c[0] in STATUS_FIELDS))
_ACCOUNT_COLUMNS: Columns = (
    ("id", "bigint"),
    ("balance", "bigint"),
    ("held", "bigint"),
    ("entry_count", "bigint"),
    ("sent_count", "bigint"),
    ("received_count", "bigint"),
    ("last_hash", "text"),
    ("status", "text"),
    ("status_reason", "text"),
    ("closed_at", "timestamptz"),
    ("credit_limit", "bigint"),
)


# Up to this many new transactions ride in the one statement; a bigger batch streams its
# transactions and entries with COPY first. Measured (bench/PROFILE.md): rendering the
# unnest() arrays as text costs ~30 us per transaction, COPY ~3 extra round trips (~0.3 ms),
# so the statement wins for a few transfers and COPY for a batch (127 vs 95 ms at 1,000).
COPY_ABOVE = 10


@dataclass(slots=True)
class Posting:
    """An entry about to be written: lighter than a model instance, which a batch makes 2,000 of."""

    account_id: int
    transaction: Transaction
    amount: int
    balance_after: int
    sequence: int
    created_at: datetime
    prev_hash: str = ""
    hash: str = ""

    @property
    def transaction_id(self) -> int:
        return self.transaction.pk

    def as_entry(self) -> Entry:
        return Entry(**{name: getattr(self, name) for name, _ in _ENTRY_COLUMNS})


@dataclass
class Changes:
    """What one posting writes; ``created`` already hold their pks (``reserve_ids``)."""

    created: Sequence[Transaction] = ()
    updated: Sequence[Transaction] = ()  # status changes: STATUS_FIELDS only
    entries: Sequence[Posting] = ()
    accounts: Sequence[Account] = ()
    counters: dict[str, int] = field(default_factory=dict)
    events: Sequence[AuditEvent] = ()


def reserve_ids(rows: Sequence[Transaction], drawn: Sequence[int] = ()) -> None:
    """Gives new transactions their pks: from the sequence on PostgreSQL, by inserting them on SQLite.

    ``drawn`` are pks already drawn from the sequence (``AccountBook.lock``): used first, and only
    what they do not cover costs a statement here.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        Transaction.objects.bulk_create(rows)
        return
    pks = list(drawn[: len(rows)])
    missing = len(rows) - len(pks)
    if missing:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Transaction._meta.db_table, missing],
            )
            pks.extend(pk for (pk,) in cursor.fetchall())
    for row, pk in zip(rows, pks, strict=True):
        row.pk = pk
        row._state.adding = False
        row._state.db = connection.alias


def write(changes: Changes) -> None:
    """Writes ``changes`` in the caller's database transaction: one statement on PostgreSQL."""
    if connection.vendor == "postgresql":
        _write_postgresql(changes)
    else:
        _write_portable(changes)


def _write_postgresql(changes: Changes) -> None:
    statement = _Statement()
    if len(changes.created) > COPY_ABOVE:
        _copy(Transaction._meta.db_table, _TRANSACTION_COLUMNS, changes.created)
        _copy(Entry._meta.db_table, _ENTRY_COLUMNS, changes.entries)
    else:
        statement.insert(Transaction._meta.db_table, _TRANSACTION_COLUMNS, changes.created)
        statement.insert(Entry._meta.db_table, _ENTRY_COLUMNS, changes.entries)
    statement.update(Transaction._meta.db_table, _STATUS_COLUMNS, changes.updated)
    statement.update(Account._meta.db_table, _ACCOUNT_COLUMNS, changes.accounts, updated_at=timezone.now())
    for name, amount in changes.counters.items():
        statement.add(COUNTER_UPSERT, [name, counter_slot(), amount])
    statement.insert_new(AuditEvent, changes.events)
    statement.execute()


class _Statement:
    """One statement of data-modifying CTEs (``WITH w0 AS (...), w1 AS (...) SELECT 1``) and its parameters."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[Any] = []

    def add(self, sql: str, params: Sequence[Any]) -> None:
        self.parts.append(sql)
        self.params.extend(params)

    def insert(self, table: str, columns: Columns, rows: Sequence[object]) -> None:
        if rows:
            self.add(
                f"INSERT INTO {table} ({_names(columns)}) SELECT * FROM {_unnest(columns)}", _arrays(columns, rows)
            )

    def update(self, table: str, columns: Columns, rows: Sequence[object], updated_at: object = None) -> None:
        """``UPDATE table SET col = v.col, ... FROM unnest(...) AS v WHERE table.id = v.id`` (id: the first column)."""
        if not rows:
            return
        sets = ", ".join(f"{name} = v.{name}" for name, _ in columns[1:])
        stamp = [] if updated_at is None else [updated_at]  # its placeholder comes before the arrays
        sets += ", updated_at = %s" if stamp else ""
        self.add(
            f"UPDATE {table} SET {sets} FROM {_unnest(columns)} AS v({_names(columns)}) WHERE {table}.id = v.id",
            [*stamp, *_arrays(columns, rows)],
        )

    def insert_new(self, model: type[Model], objects: Sequence[Model]) -> None:
        if objects:
            columns, rows = _model_rows(model, objects)
            values = ", ".join("(" + ", ".join(["%s"] * len(columns)) + ")" for _ in rows)
            self.add(
                f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) VALUES {values}",
                [value for row in rows for value in row],
            )

    def execute(self) -> None:
        if self.parts:
            ctes = ", ".join(f"w{i} AS ({part})" for i, part in enumerate(self.parts))
            with connection.cursor() as cursor:
                cursor.execute(f"WITH {ctes} SELECT 1", self.params)


def _unnest(columns: Columns) -> str:
    """``unnest(%s::type[], ...)``: one array parameter per column (``_arrays``)."""
    return "unnest(" + ", ".join(f"%s::{kind}[]" for _, kind in columns) + ")"


def _arrays(columns: Columns, rows: Sequence[object]) -> list[list[Any]]:
    read = _reader(columns)
    return [list(column) for column in zip(*(read(row) for row in rows), strict=True)]


@functools.cache
def _reader(columns: Columns) -> Callable[[object], Sequence[Any]]:
    """A row's values in ``columns`` order, as the statement or COPY sends them: a jsonb value as its JSON text.

    One ``attrgetter`` call per row, built once per column set: a batch of 1,000 reads ~46,000 values.
    """
    get = operator.attrgetter(*(name for name, _ in columns))
    as_json = [i for i, (_, kind) in enumerate(columns) if kind == "jsonb"]
    if not as_json:
        return get

    def read(row: object) -> list[Any]:
        values = list(get(row))
        for i in as_json:
            if values[i] is not None:
                values[i] = json.dumps(values[i])
        return values

    return read


def _names(columns: Columns) -> str:
    return ", ".join(name for name, _ in columns)


def _copy(table: str, columns: Columns, rows: Sequence[object]) -> None:
    # Raw psycopg COPY: wrapped so that a UNIQUE violation is Django's IntegrityError, as elsewhere.
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(f"COPY {table} ({_names(columns)}) FROM STDIN") as copy,
    ):
        read = _reader(columns)
        for row in rows:
            copy.write_row(read(row))


def _model_rows(model: type[Model], objects: Sequence[Model]) -> tuple[list[str], list[list[Any]]]:
    """Column names and database values of new objects, as ``Model.save`` would compute them."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    rows = [[f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields] for obj in objects]
    return [str(f.column) for f in fields], rows


def _write_portable(changes: Changes) -> None:
    # The new transactions were inserted by reserve_ids.
    if changes.updated:
        Transaction.objects.bulk_update(changes.updated, list(STATUS_FIELDS))
    if changes.entries:
        Entry.objects.bulk_create([posting.as_entry() for posting in changes.entries])
    if changes.accounts:
        _update_accounts_portable(changes.accounts)
    for name, amount in changes.counters.items():
        counter_add(name, amount)
    if changes.events:
        AuditEvent.objects.bulk_create(changes.events)


def _update_accounts_portable(accounts: Sequence[Account]) -> None:
    table = Account._meta.db_table
    names = [name for name, _ in _ACCOUNT_COLUMNS]
    by_name = {f.column: f for f in Account._meta.concrete_fields}
    fields = [by_name[name] for name in names]
    row = "(" + ", ".join("CAST(%s AS bigint)" if kind == "bigint" else "%s" for _, kind in _ACCOUNT_COLUMNS) + ")"
    params: list[Any] = [f.get_db_prep_save(getattr(a, f.attname), connection) for a in accounts for f in fields]
    params.append(timezone.now())  # updated_at, the last placeholder
    sets = ", ".join(f"{name} = v.{name}" for name in names[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            # A CTE rather than "FROM (VALUES ...) AS v(cols)": SQLite cannot name VALUES columns.
            f"WITH v({', '.join(names)}) AS (VALUES {', '.join([row] * len(accounts))}) "
            f"UPDATE {table} SET {sets}, updated_at = %s FROM v WHERE {table}.id = v.id",
            params,
        )
