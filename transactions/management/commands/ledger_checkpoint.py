"""Writes a signed checkpoint of the chain heads, for ``verify_ledger --against``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from transactions.checkpoint import CheckpointError, write_checkpoint

EXIT_BREACH = 1
EXIT_UNWRITTEN = 2


class Command(BaseCommand):
    help = (
        "Verifies the ledger and writes a checkpoint: each account's last sequence and hash, digests of "
        "the transactions and audit events, counts and the time, signed with HMAC-SHA256 under the first "
        "key of LEDGER_CHECKPOINT_KEY (id:secret; never stored in the database). Keep the file away from "
        "the database; verify_ledger --against FILE later proves nothing before it changed. "
        "Exit status: 0 written; 1 the ledger does not verify (nothing signed); 2 not written (no key, "
        "the file exists, database unreachable). See docs/COMMANDS.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out", required=True, help="the file to create (never overwritten), or - for standard output"
        )

    def handle(self, *args: Any, out: str, **options: Any) -> None:
        target = None if out == "-" else Path(out)
        if target is not None and target.exists():
            self._fail(f"{target} exists: a checkpoint is never overwritten; name a new file")
        try:
            text, body, breached = write_checkpoint()
        except CheckpointError as error:
            self._fail(str(error))
        except DatabaseError as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            self._fail(f"could not read the ledger: {first_line}")
        if text is None or body is None:
            for outcome in breached:
                self.stderr.write(f"BREACH  {outcome.check.name}: {'; '.join(outcome.finding.sample)}")
            self.stderr.write("ledger_checkpoint: the ledger does not verify; nothing was signed (see verify_ledger)")
            raise SystemExit(EXIT_BREACH)
        if target is None:
            self.stdout.write(text, ending="")
        else:
            self._write_new(target, text)
        totals = body["totals"]
        summary = (
            f"checkpoint {body['taken_at']}: {totals['accounts']:,} accounts, {totals['entries']:,} entries, "
            f"{totals['transactions']:,} transactions, {totals['audit_events']:,} audit events"
        )
        # With --out - the file is standard output: the summary goes to standard error.
        (self.stderr if target is None else self.stdout).write(summary + ("" if target is None else f" -> {target}"))

    def _write_new(self, target: Path, text: str) -> None:
        """Creates the file exclusively (never overwrites) and flushes it to disk; no half file stays."""
        try:
            handle = target.open("x", encoding="utf-8")
        except OSError as error:
            self._fail(f"could not create {target}: {error.strerror or error}")
        try:
            with handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            target.unlink(missing_ok=True)
            self._fail(f"could not write {target}: {error.strerror or error}")

    def _fail(self, message: str) -> NoReturn:
        self.stderr.write(f"ledger_checkpoint: {message}")
        raise SystemExit(EXIT_UNWRITTEN)
