"""Trigger SQL has one home per app (``<app>/triggers.py``) and installed migrations keep running the same SQL.

The migrations import their SQL from those modules, so an edit there would
silently change what an old migration installs on a new database while the
databases already migrated keep the old triggers. The digests below are of
what each migration ran when its SQL was written inline (before issue 13):
they must never change. A new trigger is a new migration with a new script.
"""

from __future__ import annotations

import hashlib
import importlib
from typing import Any, cast

import pytest
from django.db import connection
from django.db.migrations import RunPython

from core.triggers import VendorSQL, installed_triggers
from transactions import verification
from transactions.triggers import ALL_SCRIPTS

# sha256 of the statements each migration runs, joined by NUL, per (vendor, direction).
PINNED = {
    "transactions.migrations.0002_append_only_triggers": {
        ("postgresql", "forward"): "fb3372bb6200315e3bdf34490c75017f390ad2ac1ab6379f15b2a32fea942f76",
        ("postgresql", "backward"): "8350e964d2133701130ef69a4d847fc8575603b70aea7f818b408c8507b85eb1",
        ("sqlite", "forward"): "6c31b5572963cfb82911f712b4930c983efa7360876663c71454bd804e58144f",
        ("sqlite", "backward"): "bd4d9cbeab6b42699c9a49828f1d22f79d6a7b72cb4af46ebc6c0f212a6e7869",
    },
    "transactions.migrations.0004_truncate_guard": {
        ("postgresql", "forward"): "1d85b5ee3d6daad5733730c76e0995842c56c48abc1cddcd1aa99027ed7fde0d",
        ("postgresql", "backward"): "8a0c6b33f8e059b00aa9c2f31e648837c79af12ff2fb037035008118deafb57a",
        ("sqlite", "forward"): hashlib.sha256(b"").hexdigest(),  # SQLite has no TRUNCATE
        ("sqlite", "backward"): hashlib.sha256(b"").hexdigest(),
    },
    # Written with the SQL in transactions/triggers.py (issue 11's hold terms, after issue 13).
    "transactions.migrations.0008_hold_terms_immutable": {
        ("postgresql", "forward"): "95a5b14bb68fefba87dbf89497e4ce0fecdf2e217aa9f0778b98daa202da9167",
        ("postgresql", "backward"): "53d3d2f380dfdfc1af64718acb7074b4957175e58dc57b4a1330ef621387b59c",
        ("sqlite", "forward"): "835a1712edf8279cb57ea450e2ca6759000cdee630e751adb94930cd1013086c",
        ("sqlite", "backward"): "308806fe6ea65c30d410ad6fe98743454df993a6b87f98039c89e743030fc568",
    },
    "audit.migrations.0002_append_only_triggers": {
        ("postgresql", "forward"): "b8ca165149444db77f23d14d7b1dfac78ad3cbfbd3cf05b1fd00f1aa3f050af3",
        ("postgresql", "backward"): "b8cf609916e28d817d26ec2ee36bf2f19473a53f8bec6d7471469bc3dc2ce013",
        ("sqlite", "forward"): "b02233ce1ae42e9223e0d534bd6d02b5b4ac18a24cc029e26a42ada5349e3da2",
        ("sqlite", "backward"): "56474d709624314a88ccbffd6900ba6312ad470187e83a810122de0c98168fd0",
    },
    "audit.migrations.0003_truncate_guard": {
        ("postgresql", "forward"): "0a6a4647441617c8dc804530ee7f928c010f534be2e285b399b8c91e4bf091cf",
        ("postgresql", "backward"): "b4a13a69c3eb63ce9429207d266f88f6dccd1af85cdbefcf89a7e15059b6612d",
        ("sqlite", "forward"): hashlib.sha256(b"").hexdigest(),
        ("sqlite", "backward"): hashlib.sha256(b"").hexdigest(),
    },
}


class _Connection:
    def __init__(self, vendor: str) -> None:
        self.vendor = vendor


class RecordingEditor:
    """Stands in for a schema editor: keeps the SQL a migration sends instead of running it."""

    def __init__(self, vendor: str) -> None:
        self.connection = _Connection(vendor)
        self.sql: list[str] = []

    def execute(self, sql: str, params: Any = ()) -> None:
        self.sql.append(sql)


def _ran(migration: str, vendor: str, direction: str) -> str:
    (operation,) = importlib.import_module(migration).Migration.operations
    assert isinstance(operation, RunPython)
    editor: Any = RecordingEditor(vendor)
    run = operation.code if direction == "forward" else operation.reverse_code
    assert run is not None
    run(cast(Any, None), editor)
    return hashlib.sha256("\x00".join(editor.sql).encode()).hexdigest()


@pytest.mark.parametrize(
    ("migration", "vendor", "direction"),
    [(migration, vendor, direction) for migration, pins in PINNED.items() for vendor, direction in pins],
)
def test_an_installed_migration_runs_the_same_trigger_sql_as_when_it_was_written(
    migration: str, vendor: str, direction: str
) -> None:
    assert _ran(migration, vendor, direction) == PINNED[migration][vendor, direction]


def test_verify_ledger_expects_exactly_the_triggers_the_migrations_create() -> None:
    assert verification.expected_triggers("postgresql") == {
        ("transactions_entry", "entry_append_only"),
        ("transactions_transaction", "transaction_never_deleted"),
        ("transactions_transaction", "transaction_core_immutable"),
        ("audit_auditevent", "audit_event_append_only"),
        ("transactions_entry", "entry_no_truncate"),
        ("transactions_transaction", "transaction_no_truncate"),
        ("audit_auditevent", "audit_event_no_truncate"),
        ("transactions_transaction", "transaction_metadata_immutable"),
        ("transactions_transaction", "transaction_hold_terms_immutable"),
    }
    assert verification.expected_triggers("sqlite") == {
        ("transactions_entry", "entry_no_update"),
        ("transactions_entry", "entry_no_delete"),
        ("transactions_transaction", "transaction_never_deleted"),
        ("transactions_transaction", "transaction_core_immutable"),
        ("audit_auditevent", "audit_event_no_update"),
        ("audit_auditevent", "audit_event_no_delete"),
        ("transactions_transaction", "transaction_metadata_immutable"),
        ("transactions_transaction", "transaction_hold_terms_immutable"),
    }


@pytest.mark.django_db
def test_every_trigger_the_scripts_name_is_installed_on_this_database() -> None:
    """The names are read from the SQL that ran here: each one exists in the catalogue."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid")
        else:
            cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        present = set(cursor.fetchall())
    expected = installed_triggers(connection.vendor, ALL_SCRIPTS)
    assert expected and expected <= present


def test_a_database_the_ledger_has_no_trigger_sql_for_is_refused_not_left_unguarded() -> None:
    with pytest.raises(NotImplementedError, match="mysql"):
        VendorSQL(forward={"postgresql": ("SELECT 1",)}, backward={}).install(None, RecordingEditor("mysql"))
