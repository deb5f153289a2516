"""TRUNCATE on audit events is refused, by every role (docs/INVARIANTS.md).

A statement-level ``BEFORE TRUNCATE`` trigger, since row triggers do not fire on
TRUNCATE. PostgreSQL only: SQLite has no TRUNCATE.
"""

from django.db import migrations

from audit.triggers import TRUNCATE_GUARD

# The SQL lives in audit/triggers.py (per vendor); tests/commands/test_trigger_sql.py pins what it runs.


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]
    operations = [TRUNCATE_GUARD.operation()]
