"""Realistic demo data through the same services as real traffic."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from core.errors import LedgerError
from transactions.seeding import ProgressBar, seed_ledger


def _count(minimum: int) -> Any:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        return value

    return parse


class Command(BaseCommand):
    help = (
        "Opens N accounts (Brazilian names; valid CPFs and CNPJs, alphanumeric CNPJs included), each funded by "
        "a deposit, then makes M transfers among them (mostly PIX and TRANSFER, some TED and DOC) through the "
        "batch service, 1,000 per batch, with a progress bar on stderr. Deterministic for a --seed and "
        "idempotent: the same command twice adds nothing the second time; a larger --transactions extends "
        "the same sequence. Transfers the sender cannot cover are recorded FAILED, as in real traffic; the "
        "TED/DOC ones stay PENDING until settle_transactions runs. -v 0 hides the progress bar; -v 2 keeps "
        "the per-batch log lines. Exit status: 0 done; 1 database error; 2 bad arguments."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--accounts", type=_count(2), required=True, metavar="N", help="accounts to open (>= 2)")
        parser.add_argument(
            "--transactions", type=_count(0), required=True, metavar="M", help="transfers to make (>= 0)"
        )
        parser.add_argument("--seed", type=int, default=1, metavar="S", help="the seed of the demo data (default 1)")

    def handle(
        self, *args: Any, accounts: int, transactions: int, seed: int, verbosity: int = 1, **options: Any
    ) -> None:
        # One log line per batch would tear the progress bar apart; -v 2 keeps them.
        ledger_logger = logging.getLogger("ledger")
        level = ledger_logger.level
        if verbosity < 2:
            ledger_logger.setLevel(logging.WARNING)
        try:
            report = seed_ledger(
                accounts=accounts,
                transactions=transactions,
                seed=seed,
                progress=self._progress() if verbosity >= 1 else None,
            )
        except (DatabaseError, LedgerError) as error:
            raise CommandError(f"seeding stopped: {str(error).strip().splitlines()[0]}") from None
        finally:
            ledger_logger.setLevel(level)
        outcomes = ", ".join(f"{status} {count:,}" for status, count in sorted(report.outcomes.items()))
        self.stdout.write(
            f"seed {seed}: {report.accounts:,} accounts ({report.accounts_created:,} new), "
            f"{report.transactions:,} transfers ({report.transactions_created:,} new"
            f"{': ' + outcomes if outcomes else ''}) in {report.seconds:.1f} s"
        )
        pending = report.outcomes.get("PENDING", 0)
        if pending:
            self.stdout.write(f"{pending:,} TED/DOC are PENDING: python manage.py settle_transactions settles them")

    def _progress(self) -> ProgressBar:
        def write(text: str) -> None:
            self.stderr.write(text, style_func=lambda plain: plain, ending="")  # not in stderr's red
            self.stderr.flush()

        return ProgressBar(write, tty=self.stderr.isatty())
