"""The database itself refuses to rewrite history (docs/INVARIANTS.md).

Entries are append-only; transactions are never deleted and never change
sender, receiver, amount or type. Installed for PostgreSQL and SQLite alike, so
a raw SQL ``UPDATE`` or ``DELETE`` fails whatever code sends it. TRUNCATE is
left to the table owner (test teardown uses it); production roles should not
own the tables.
"""

from django.db import migrations

from transactions.triggers import APPEND_ONLY

# The SQL lives in transactions/triggers.py (per vendor); tests/commands/test_trigger_sql.py pins what it runs.


class Migration(migrations.Migration):
    dependencies = [("transactions", "0001_initial"), ("audit", "0002_append_only_triggers")]
    operations = [APPEND_ONLY.operation()]
