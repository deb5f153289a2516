"""Checks every invariant of the contract from the rows; exit 1 on any breach."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from transactions.checkpoint import Checkpoint, CheckpointError, checks_against, load
from transactions.verification import CHECKS, Outcome, verify

EXIT_BREACH = 1
EXIT_UNCHECKED = 2


class Command(BaseCommand):
    help = (
        "Checks the ledger's invariants (CONTRACT.md, Invariants) from the rows and prints one line per "
        "invariant: OK, or BREACH with the number of offenders and the first few of them. All checks read "
        "one consistent snapshot, so it is safe to run while money moves. "
        "Exit status: 0 every invariant holds; 1 at least one is breached; 2 the ledger could not be "
        "checked (database unreachable, migrations missing). With --quiet nothing is printed on success, "
        "for cron. With --against FILE (a checkpoint from ledger_checkpoint, signed with a key of "
        "LEDGER_CHECKPOINT_KEY) it also proves that nothing before the checkpoint changed, even if the chain "
        "was recomputed; a file whose signature does not verify is refused (exit 2). "
        "What to do on a breach: docs/COMMANDS.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--quiet", action="store_true", help="print nothing when every invariant holds (breaches still print)"
        )
        parser.add_argument(
            "--against",
            metavar="CHECKPOINT",
            help="a signed checkpoint file (ledger_checkpoint --out), or - for standard input",
        )

    def handle(
        self, *args: Any, quiet: bool = False, verbosity: int = 1, against: str | None = None, **options: Any
    ) -> None:
        started = time.perf_counter()
        checks = list(CHECKS)
        if against is not None:
            checks += checks_against(self._checkpoint(against))
        lines: list[str] = []
        breached = 0
        try:
            for outcome in verify(checks):
                breached += not outcome.finding.ok
                line = self._line(outcome, timings=verbosity >= 2)
                if quiet:
                    lines.append(line)  # shown only if something is breached
                else:
                    self.stdout.write(line)
        except DatabaseError as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            self.stderr.write(f"verify_ledger: could not check the ledger: {first_line}")
            raise SystemExit(EXIT_UNCHECKED) from None
        elapsed = time.perf_counter() - started
        if breached:
            if quiet:
                self.stdout.write("\n".join(lines))
            self.stderr.write(
                f"verify_ledger: {breached} of {len(checks)} invariants breached ({elapsed:.1f} s); "
                "see docs/COMMANDS.md before changing anything"
            )
            raise SystemExit(EXIT_BREACH)
        if not quiet:
            self.stdout.write(f"verify_ledger: all {len(checks)} invariants hold ({elapsed:.1f} s)")

    def _checkpoint(self, path: str) -> Checkpoint:
        """The checkpoint, trusted only once its signature verifies; else exit 2."""
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
            return load(text)
        except (OSError, UnicodeDecodeError) as error:
            message = f"cannot read {path}: {getattr(error, 'strerror', None) or error}"
        except CheckpointError as error:
            message = f"{path}: {error}"
        self.stderr.write(f"verify_ledger: checkpoint refused: {message}")
        raise SystemExit(EXIT_UNCHECKED)

    def _line(self, outcome: Outcome, *, timings: bool) -> str:
        finding, name = outcome.finding, outcome.check.name
        took = f", {outcome.seconds:.2f} s" if timings else ""
        if finding.ok:
            return self.style.SUCCESS(f"OK      {name} ({finding.checked:,} {finding.unit}{took})")
        more = " ..." if finding.breaches > len(finding.sample) else ""
        return self.style.ERROR(
            f"BREACH  {name}: {finding.breaches:,} offending, {finding.checked:,} {finding.unit} checked{took} "
            f"({'; '.join(finding.sample)}{more})"
        )
