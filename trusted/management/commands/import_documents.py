"""Imports a client build's trusted documents: relay-compiler's persisted file or an Apollo manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trusted.manifests import ManifestError, read_manifest
from trusted.services import documents_import


class Command(BaseCommand):
    help = (
        "Adds the documents of FILE (relay-compiler's persistConfig file, {hash: text}, or an Apollo "
        "persisted-query manifest) to the store, named after --client. Each entry's hash must be the SHA-256 of "
        "its text and the text must validate against the schema; if any entry is refused, nothing is added. "
        "Documents already stored are left as they are, so importing the same file twice adds nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="relay-compiler's persisted documents file or an Apollo manifest")
        parser.add_argument("--client", required=True, help="the app these documents belong to, shown in the admin")

    def handle(self, *args: Any, file: str, client: str, **options: Any) -> None:
        if not client.strip():
            raise CommandError("--client needs a name")
        try:
            entries = read_manifest(Path(file).read_bytes())
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from None
        except ManifestError as error:
            raise CommandError(f"{file}: {error}") from None
        report = documents_import(entries=entries, client=client.strip())
        if report.refused:
            for line in report.refused:
                self.stderr.write(f"refused {line}")
            raise CommandError(f"{len(report.refused)} refused: nothing imported")
        for sha256 in report.added:
            self.stdout.write(f"added sha256:{sha256}")
        for sha256 in report.revoked:
            self.stderr.write(f"revoked, left revoked: sha256:{sha256}")
        self.stdout.write(
            f"{len(report.added)} added, {len(report.present)} already stored, {len(report.revoked)} revoked "
            f"({client.strip()})"
        )
