"""TRUNCATE on entries and transactions is refused too, by every role (docs/INVARIANTS.md).

Row triggers do not fire on ``TRUNCATE``; a statement-level ``BEFORE TRUNCATE``
trigger does, also when a ``TRUNCATE ... CASCADE`` of another table reaches
these. PostgreSQL only: SQLite has no TRUNCATE (its ``DELETE`` is refused by
the row triggers of 0002). ``manage.py flush`` (the test suite's teardown) lifts
it for its one statement on a test database only (``core/management/commands/flush.py``).
"""

from django.db import migrations

POSTGRESQL_FORWARD = """
CREATE TRIGGER entry_no_truncate BEFORE TRUNCATE ON transactions_entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_rewrite();
CREATE TRIGGER transaction_no_truncate BEFORE TRUNCATE ON transactions_transaction
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_rewrite();
"""

POSTGRESQL_BACKWARD = """
DROP TRIGGER IF EXISTS transaction_no_truncate ON transactions_transaction;
DROP TRIGGER IF EXISTS entry_no_truncate ON transactions_entry;
"""


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_FORWARD, params=None)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("transactions", "0003_permissions"), ("audit", "0003_truncate_guard")]
    operations = [migrations.RunPython(forward, backward)]
