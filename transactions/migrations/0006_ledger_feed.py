"""The feed's order (transactions.feed): the id of the database transaction that wrote each entry, and its index.

PostgreSQL only: the column is filled by its default in the writing
transaction itself (no statement of the writer names it, so a transfer sends
nothing more), and rows written before this migration take the migration's
own transaction id, older than anything written after. SQLite has one writer
at a time: the entry id is the order there, and no column is needed.
"""

from django.db import migrations

from core.triggers import VendorSQL

FEED_COLUMN = VendorSQL(
    forward={
        "postgresql": (
            "ALTER TABLE transactions_entry ADD COLUMN commit_xid xid8 NOT NULL DEFAULT pg_current_xact_id();",
            "CREATE INDEX entry_feed ON transactions_entry (commit_xid, id);",
        ),
        "sqlite": (),
    },
    backward={
        "postgresql": (
            "DROP INDEX IF EXISTS entry_feed;",
            "ALTER TABLE transactions_entry DROP COLUMN IF EXISTS commit_xid;",
        ),
        "sqlite": (),
    },
)


class Migration(migrations.Migration):
    dependencies = [("transactions", "0005_records_metadata")]
    operations = [FEED_COLUMN.operation()]
