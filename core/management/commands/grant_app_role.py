"""Creates or updates the app's database role: owns nothing, only the DML the app needs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from core.dbroles import RoleError, describe, grant_app_role


class Command(BaseCommand):
    help = (
        "Run as the tables' owner (the role migrate runs as): creates the PostgreSQL login role ROLE if "
        "missing and sets its privileges to exactly what the app needs (core/dbroles.py POLICY): "
        "SELECT/INSERT on entries and audit events, no UPDATE/DELETE on history, no TRUNCATE, no "
        "TRIGGER, sequences for nextval(). Refuses a role that is a superuser, the owner, or owns a "
        "table. Idempotent; migrate does the same on every run when LEDGER_DB_APP_ROLE is set. The "
        "password, if any, comes from LEDGER_DB_APP_PASSWORD (never the command line). "
        "See docs/OPERATIONS.md, Database roles."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", nargs="?", default=None, help="the app's role (default: LEDGER_DB_APP_ROLE)")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help="the connection to grant through")

    def handle(self, *args: Any, role: str | None = None, database: str = DEFAULT_DB_ALIAS, **options: Any) -> None:
        role = role or settings.LEDGER_DB_APP_ROLE
        if not role:
            raise CommandError("name the role: grant_app_role ROLE, or set LEDGER_DB_APP_ROLE")
        try:
            report = grant_app_role(connections[database], role, settings.LEDGER_DB_APP_PASSWORD)
        except RoleError as error:
            raise CommandError(str(error)) from None
        except DatabaseError as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise CommandError(f"could not grant {role}: {first_line}") from None
        self.stdout.write(describe(report))
