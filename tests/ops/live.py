"""A real server for end-to-end tests: gunicorn with gunicorn.conf.py, on the test database.

pytest-django's ``live_server`` runs Django's development server inside the test
process with the test settings; this runs what production runs, in its own
process, with an environment of its own (plain HTTP on the loopback, so the
HTTPS redirect and secure cookies are off). The test must use a database
fixture that commits (``transactional_db``) for the server to see its rows.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.db import connection

from tests.ops.support import BIN, ROOT, clean_env

ARTIFACTS = ROOT / "artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def shared_database_url() -> str:
    """The URL of the database pytest-django made for this run (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        raise RuntimeError("a separate server process needs a database it can reach: PostgreSQL")
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@dataclass
class Server:
    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def gunicorn_server(name: str, **env: str) -> Iterator[Server]:
    """Starts gunicorn on a free loopback port, waits until it answers, stops it afterwards."""
    port = free_port()
    logs = ARTIFACTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    metrics_dir = ARTIFACTS / "prometheus" / name
    metrics_dir.mkdir(parents=True, exist_ok=True)
    settings = {
        "DEBUG": "false",
        "SECRET_KEY": "end-to-end-test-key-" + "x" * 40,
        "DATABASE_URL": shared_database_url(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        **env,
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "ledger_project.wsgi"],
            cwd=ROOT,
            env=clean_env(**settings),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(url=f"http://127.0.0.1:{port}", log=log)
    try:
        _wait_until_up(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until_up(server: Server, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{server.log_text()}")
        try:
            with urllib.request.urlopen(server.url + "/admin/login/", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers; the status is the test's business
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s:\n{server.log_text()}")


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in {"", "0", "false", "no", "off"}
