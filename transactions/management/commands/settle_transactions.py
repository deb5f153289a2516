"""The settlement worker: posts due TED/DOC transactions through the settle service."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from transactions.services import transactions_settle_due

logger = logging.getLogger("ledger.settle")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


class Command(BaseCommand):
    help = (
        "Settles every PENDING TED/DOC that is due (createdAt + LEDGER_TED_DELAY or LEDGER_DOC_DELAY): posts its "
        "two entries, releases its hold and marks it COMPLETED, --batch rows per database transaction. Without "
        "--loop: one pass over everything due, then exit 0 and print how many settled. With --loop: a worker "
        "that passes every --interval seconds until SIGTERM or Ctrl-C, which stop it after the current step "
        "(a second Ctrl-C aborts at once; the step rolls back). Several workers may run at once: rows are "
        "claimed with FOR UPDATE SKIP LOCKED, each settles exactly once, and a killed worker leaves nothing "
        "half done. Exit status: 0 done or stopped; 1 database error outside --loop (--loop logs it and retries); "
        "2 bad arguments."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running as a worker until SIGTERM/SIGINT")
        parser.add_argument(
            "--interval",
            type=_positive_seconds,
            default=None,
            metavar="S",
            help="seconds to sleep between passes with --loop (default LEDGER_SETTLE_INTERVAL, now "
            f"{settings.LEDGER_SETTLE_INTERVAL})",
        )
        parser.add_argument(
            "--batch",
            type=_positive_int,
            default=None,
            metavar="N",
            help="rows settled per database transaction (default LEDGER_SETTLE_BATCH, now "
            f"{settings.LEDGER_SETTLE_BATCH})",
        )

    def handle(
        self, *args: Any, loop: bool = False, interval: float | None = None, batch: int | None = None, **options: Any
    ) -> None:
        self.size = batch or settings.LEDGER_SETTLE_BATCH
        pause = float(settings.LEDGER_SETTLE_INTERVAL) if interval is None else interval
        self.stopping = False
        # Signal handlers can only be set from the main thread (call_command may run elsewhere).
        in_main = threading.current_thread() is threading.main_thread()
        previous = {sig: signal.signal(sig, self._stop) for sig in STOP_SIGNALS} if in_main else {}
        try:
            if loop:
                self._work(pause)
            else:
                self._once()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        """First signal: finish the current step, then leave. A second Ctrl-C interrupts (the step rolls back)."""
        self.stopping = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def _pass(self) -> int:
        """Steps until nothing due is left (or a stop was asked): one database transaction per step."""
        settled = 0
        while not self.stopping:
            done = transactions_settle_due(limit=self.size, batch_size=self.size)
            settled += done
            if done < self.size:
                break
        return settled

    def _once(self) -> None:
        started = time.perf_counter()
        try:
            settled = self._pass()
        except DatabaseError as error:
            raise CommandError(f"database error, nothing half done: {_first_line(error)}") from None
        stopped = " (stopped early by a signal; the rest stay PENDING)" if self.stopping else ""
        self.stdout.write(f"settled {settled} transaction(s) in {time.perf_counter() - started:.1f} s{stopped}")

    def _work(self, pause: float) -> None:
        self.stdout.write(
            f"settlement worker started: a pass every {pause:g} s, {self.size} rows per step; "
            "SIGTERM or Ctrl-C stops it after the current step"
        )
        total = 0
        while not self.stopping:
            started = time.perf_counter()
            try:
                settled = self._pass()
            except DatabaseError as error:
                # A worker outlives a database restart: drop the broken connection, wait, try again.
                logger.warning("settlement pass failed, retrying", extra={"error": _first_line(error)})
                connection.close()
                settled = 0
            if settled:
                total += settled
                self.stdout.write(f"settled {settled} transaction(s) in {time.perf_counter() - started:.1f} s")
            deadline = time.monotonic() + pause
            while not self.stopping and time.monotonic() < deadline:
                time.sleep(min(0.2, pause))
        self.stdout.write(f"settlement worker stopped: settled {total} transaction(s) since it started")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
