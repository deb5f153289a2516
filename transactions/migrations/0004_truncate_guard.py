"""TRUNCATE on entries and transactions is refused too, by every role (docs/INVARIANTS.md).

Row triggers do not fire on ``TRUNCATE``; a statement-level ``BEFORE TRUNCATE``
trigger does, also when a ``TRUNCATE ... CASCADE`` of another table reaches
these. PostgreSQL only: SQLite has no TRUNCATE (its ``DELETE`` is refused by
the row triggers of 0002). ``manage.py flush`` (the test suite's teardown) lifts
it for its one statement on a test database only (``core/management/commands/flush.py``).
"""

from django.db import migrations

from transactions.triggers import TRUNCATE_GUARD

# The SQL lives in transactions/triggers.py (per vendor); tests/commands/test_trigger_sql.py pins what it runs.


class Migration(migrations.Migration):
    dependencies = [("transactions", "0003_permissions"), ("audit", "0003_truncate_guard")]
    operations = [TRUNCATE_GUARD.operation()]
