"""Trigger SQL per database vendor, and the one helper that runs it (django-hordak's pattern).

Each app keeps its triggers in ``<app>/triggers.py``, one ``VendorSQL`` per
migration that installs them; the migration runs ``script.operation()``, and
``verify_ledger`` reads the names the SQL creates (``VendorSQL.triggers``), so a
trigger's name is written once, in its ``CREATE TRIGGER``. An installed
migration's SQL never changes: ``tests/commands/test_trigger_sql.py`` holds the
digest of what each one runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import migrations

# Shared by the history tables of every app: audit/0002 creates it first, transactions/0002 again (OR REPLACE).
REFUSE_REWRITE_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on % is refused: the ledger is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
"""

_CREATE_TRIGGER = re.compile(r"CREATE TRIGGER\s+(\w+)\s.*?\bON\s+(\w+)", re.DOTALL)


@dataclass(frozen=True)
class VendorSQL:
    """What one migration runs, per vendor: statements to install, statements to remove, each run as it is.

    A vendor the migration does not name is refused: a database the ledger
    was not written for would otherwise be left without its guards.
    """

    forward: Mapping[str, tuple[str, ...]]
    backward: Mapping[str, tuple[str, ...]]

    def statements(self, vendor: str, *, backward: bool = False) -> tuple[str, ...]:
        scripts = self.backward if backward else self.forward
        if vendor not in scripts:
            raise NotImplementedError(f"No trigger SQL for the {vendor} database.")
        return scripts[vendor]

    def install(self, apps: Any, schema_editor: Any) -> None:
        for sql in self.statements(schema_editor.connection.vendor):
            schema_editor.execute(sql, params=None)  # no parameters: `%` in PL/pgSQL is literal

    def remove(self, apps: Any, schema_editor: Any) -> None:
        for sql in self.statements(schema_editor.connection.vendor, backward=True):
            schema_editor.execute(sql, params=None)

    def operation(self) -> migrations.RunPython:
        return migrations.RunPython(self.install, self.remove)

    def triggers(self, vendor: str) -> set[tuple[str, str]]:
        """(table, trigger) pairs the forward SQL creates on ``vendor``."""
        return {(table, name) for sql in self.forward.get(vendor, ()) for name, table in _CREATE_TRIGGER.findall(sql)}


def installed_triggers(vendor: str, scripts: Iterable[VendorSQL]) -> set[tuple[str, str]]:
    """Every (table, trigger) pair ``scripts`` install on ``vendor``."""
    return set().union(*(script.triggers(vendor) for script in scripts))
