"""System checks of our own: what must hold before the app serves or a command writes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.checks import Warning as CheckWarning

SECRET_KEY_MISSING = "SECRET_KEY must be set when DEBUG is off."


@register()
def secret_key_is_set(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Settings load without a key so that commands which sign nothing (graphql_schema) run on a bare checkout;
    every command that runs system checks (check, migrate, runserver) and the WSGI entry point refuse instead."""
    if getattr(settings, "SECRET_KEY_MISSING", False):
        return [Error(SECRET_KEY_MISSING, hint="Set SECRET_KEY to a long random string.", id="ledger.E001")]
    return []


DATABASE_ROLE_OWNS_HISTORY = "ledger.W010"
DATABASE_ROLE_MAY_REWRITE = "ledger.W011"


@register(Tags.security, deploy=True)
def database_role_owns_nothing(app_configs: Any, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A superuser or the tables' owner can disable the append-only triggers: the app must be neither.

    ``check --deploy`` runs it with the app's own settings; a database it cannot
    reach is skipped (Django's database checks and ``/readyz`` report that).
    """
    from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

    from core.dbroles import role_facts

    messages: list[CheckMessage] = []
    for alias in databases or [DEFAULT_DB_ALIAS]:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        try:
            facts = role_facts(connection)
        except DatabaseError:
            continue
        hint = (
            "Run migrate as the owner with LEDGER_DB_APP_ROLE set (or manage.py grant_app_role ROLE) and point "
            "the app's DATABASE_URL at that role: docs/OPERATIONS.md, Database roles."
        )
        if facts.superuser or facts.owned:
            what = "is a superuser" if facts.superuser else f"owns {', '.join(facts.owned)}"
            messages.append(
                CheckWarning(
                    f"The database role {facts.role!r} ({alias}) {what}: it can disable the ledger's append-only "
                    "triggers and rewrite history.",
                    hint=hint,
                    id=DATABASE_ROLE_OWNS_HISTORY,
                )
            )
        elif facts.excess:
            messages.append(
                CheckWarning(
                    f"The database role {facts.role!r} ({alias}) holds {', '.join(facts.excess)}.",
                    hint=hint,
                    id=DATABASE_ROLE_MAY_REWRITE,
                )
            )
    return messages
