"""The development API key that GraphiQL prefills: kept in a file by ``make run``, read only in DEBUG.

``dev_api_key`` (run by ``make run``) writes the fresh key to
``LEDGER_DEV_KEY_FILE`` (``.dev-api-key`` at the repository's root; mode 0600,
ignored by git and Docker). GraphiQL puts
it in its Headers pane so that a developer's first query works. Production
never reads it: ``current_dev_key`` answers None unless DEBUG is on, and also
when the key was revoked since.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from access.selectors import api_key_for_token


def dev_key_file() -> Path:
    return Path(settings.LEDGER_DEV_KEY_FILE)


def write_dev_key(token: str) -> None:
    """Keeps the development key for GraphiQL, readable by its owner only."""
    descriptor = os.open(dev_key_file(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(token + "\n")


def current_dev_key() -> str | None:
    """The development key, when DEBUG is on and the key still authenticates; else None."""
    if not settings.DEBUG:
        return None
    try:
        token = dev_key_file().read_text().strip()
    except OSError:
        return None
    return token if api_key_for_token(token=token) is not None else None
