"""Audit events are append-only: the database refuses UPDATE and DELETE."""

from django.db import migrations

from audit.triggers import APPEND_ONLY

# The SQL lives in audit/triggers.py (per vendor); tests/commands/test_trigger_sql.py pins what it runs.


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [APPEND_ONLY.operation()]
