"""Django's ``flush``, which the ledger's TRUNCATE triggers refuse, except on a test database.

The history tables refuse ``TRUNCATE`` from every role (transactions/0004,
audit/0003), and Django's test framework empties the database between
transactional tests with one ``TRUNCATE``. On a database named like a test
database (Django's ``test_`` prefix) and for a superuser connection, this
command runs that statement with ``session_replication_role = replica``, under
which ordinary triggers do not fire. Setting it is reserved to superusers, who
can drop any trigger anyway, so this opens nothing. Anywhere else ``flush``
fails on the trigger, as it should: a ledger is never emptied.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.management.commands import flush
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.creation import TEST_DATABASE_PREFIX


def may_lift_truncate_guard(connection: BaseDatabaseWrapper) -> bool:
    """A superuser connection to a PostgreSQL test database."""
    if connection.vendor != "postgresql" or not str(connection.settings_dict["NAME"]).startswith(TEST_DATABASE_PREFIX):
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('is_superuser') = 'on'")
        row = cursor.fetchone()
    return bool(row and row[0])


class Command(flush.Command):
    help = flush.Command.help + " The ledger's history tables refuse it except on a test database."

    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if not may_lift_truncate_guard(connection):
            return super().handle(**options)
        ops = connection.ops
        execute = ops.execute_sql_flush

        def execute_without_user_triggers(sql_list: Iterable[str]) -> None:
            # SET LOCAL ends with flush's own transaction, before post_migrate writes anything.
            execute(["SET LOCAL session_replication_role = replica", *sql_list])

        ops.execute_sql_flush = execute_without_user_triggers  # type: ignore[method-assign]
        try:
            return super().handle(**options)
        finally:
            del ops.execute_sql_flush
