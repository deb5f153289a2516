"""Documents imported at migrate time: ``LEDGER_DOCUMENTS_IMPORT=client=path,...`` (docker-compose sets it)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError


def configured_imports() -> list[tuple[str, Path]]:
    """``(client, file)`` pairs of ``LEDGER_DOCUMENTS_IMPORT``; a relative path is the repository's."""
    pairs = []
    for item in settings.LEDGER_DOCUMENTS_IMPORT:
        client, separator, path = item.partition("=")
        if not separator or not client.strip() or not path.strip():
            raise CommandError(f"LEDGER_DOCUMENTS_IMPORT: {item!r} is not client=path")
        file = Path(path.strip())
        pairs.append((client.strip(), file if file.is_absolute() else Path(settings.BASE_DIR) / file))
    return pairs


def import_after_migrate(verbosity: int = 1, **kwargs: Any) -> None:
    """``post_migrate``: imports each configured file; a refused entry fails migrate, so the app does not start."""
    for client, file in configured_imports():
        call_command(
            "import_documents",
            str(file),
            "--client",
            client,
            verbosity=verbosity,
            stdout=kwargs.get("stdout") or sys.stdout,
        )
