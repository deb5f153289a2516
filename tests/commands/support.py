"""Helpers for the operator commands' tests: run them in-process or as real OS processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from access.keycache import LISTENER_NAME
from accounts.models import Account
from tests.factories import make_account
from transactions.services import TransferSpec, transfer_batch_create

BASE_DIR = Path(settings.BASE_DIR)


def run(command: str, *args: str, **options: Any) -> tuple[int, str, str]:
    """Runs a command in-process: (exit status, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err, **options)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def verify(*args: str) -> tuple[int, str]:
    """verify_ledger's exit status and everything it printed."""
    code, out, err = run("verify_ledger", *args)
    return code, out + err


def raw(sql: str, params: list[Any] | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def database_url() -> str:
    """The test database, as the URL a subprocess needs to reach the same rows."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def manage(*args: str, url: str | None = None, **env: str) -> subprocess.Popen[str]:
    """``manage.py <args>`` as a real OS process against the test database (or ``url``)."""
    environment = {
        **os.environ,
        "DATABASE_URL": url if url is not None else database_url(),
        "DEBUG": "false",
        "SECRET_KEY": "test-only",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=environment,
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def many_pending(count: int, kind: str = "TED") -> tuple[Account, Account]:
    """``count`` PENDING transfers of 1.00 from one rich account, made 1,000 per batch."""
    a, b = make_account(10**9), make_account(0)
    for start in range(0, count, 1000):
        transfer_batch_create(specs=[TransferSpec(a.pk, b.pk, 100, kind)] * min(1000, count - start))
    return a, b


def wait_for_other_sessions_to_end(timeout: float = 30) -> None:
    """Waits until no other session is connected to the test database (a killed worker's has gone).

    This process's own API-key cache listener (access.keycache) is not another session: it stays.
    """
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND application_name <> %s",
                [LISTENER_NAME],
            )
            (others,) = cursor.fetchone()
            if not others:
                return
            assert time.monotonic() < deadline, f"{others} other session(s) still connected"
            time.sleep(0.02)
