"""System checks of our own: what must hold before the app serves or a command writes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

SECRET_KEY_MISSING = "SECRET_KEY must be set when DEBUG is off."


@register()
def secret_key_is_set(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Settings load without a key so that commands which sign nothing (graphql_schema) run on a bare checkout;
    every command that runs system checks (check, migrate, runserver) and the WSGI entry point refuse instead."""
    if getattr(settings, "SECRET_KEY_MISSING", False):
        return [Error(SECRET_KEY_MISSING, hint="Set SECRET_KEY to a long random string.", id="ledger.E001")]
    return []
