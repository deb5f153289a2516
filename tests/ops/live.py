"""Real servers for end-to-end tests, on the test database.

pytest-django's ``live_server`` runs Django's development server inside the test
process with the test settings; these run what production runs, in a process of
their own, with an environment of its own (plain HTTP on the loopback, so the
HTTPS redirect and secure cookies are off): ``production_server`` is the whole
stack as ``make serve`` and the image start it (nginx in front of granian,
``ledger_project/serve.py``), ``gunicorn_server`` is gunicorn alone. The test
must use a database fixture that commits (``transactional_db``) for the server
to see its rows.
"""

from __future__ import annotations

import os
import shutil
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

import pytest
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


@dataclass
class RunningStack(Server):
    """The production stack's launcher process, for tests that signal it themselves."""

    process: subprocess.Popen[bytes]


def _settings(name: str, **env: str) -> dict[str, str]:
    metrics_dir = ARTIFACTS / "prometheus" / name
    metrics_dir.mkdir(parents=True, exist_ok=True)
    return {
        "DEBUG": "false",
        "SECRET_KEY": "end-to-end-test-key-" + "x" * 40,
        "DATABASE_URL": shared_database_url(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
        "GRANIAN_WORKERS": "2",
        "GRANIAN_BLOCKING_THREADS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        **env,
    }


def _log_path(name: str) -> Path:
    logs = ARTIFACTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / f"{name}.log"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def gunicorn_server(name: str, **env: str) -> Iterator[Server]:
    """Starts gunicorn alone on a free loopback port, waits until it answers, stops it afterwards."""
    port = free_port()
    log = _log_path(name)
    settings = {"GUNICORN_BIND": f"127.0.0.1:{port}", **_settings(name, **env)}
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
        _wait_until_up(server, process, "gunicorn")
        yield server
    finally:
        _stop(process)


def nginx_binary() -> str:
    """nginx's path; without it the production stack cannot run: skip on a laptop, fail in CI."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found:
        return found
    message = "nginx is not installed (the production stack's HTTP server): apt-get install nginx-light"
    if env_flag("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def production_server(name: str, **env: str) -> Iterator[RunningStack]:
    """Starts ``python -m ledger_project.serve`` (nginx, then granian) as ``make serve`` does, on a free port."""
    nginx = nginx_binary()
    port = free_port()
    log = _log_path(name)
    settings = {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "NGINX_BIN": nginx,
        "GUNICORN_GRACEFUL_TIMEOUT": "10",
        **_settings(name, **env),
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(BIN / "python"), "-m", "ledger_project.serve"],
            cwd=ROOT,
            env=clean_env(**settings),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = RunningStack(url=f"http://127.0.0.1:{port}", log=log, process=process)
    try:
        _wait_until_up(server, process, "the production stack")
        yield server
    finally:
        _stop(process)  # SIGTERM: the launcher stops nginx, then the app server


def _wait_until_up(server: Server, process: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{server.log_text()}")
        try:
            with urllib.request.urlopen(server.url + "/admin/login/", timeout=2):
                return
        except urllib.error.HTTPError as error:
            if error.code != 502:  # nginx answers 502 until the app server's workers accept
                return  # it answers; the status is the test's business
            time.sleep(0.2)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer within {timeout:.0f} s:\n{server.log_text()}")


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in {"", "0", "false", "no", "off"}
