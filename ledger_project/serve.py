"""The production HTTP stack in one command: ``python -m ledger_project.serve`` (``make serve``, the image).

nginx faces the clients and gunicorn runs the app behind it, on a Unix socket in
a private run directory. gunicorn's gthread workers read a request in the thread
that runs it, so clients that dribble headers or a body held every thread
(issue 9, class 4); nginx reads whole requests in its event loop, with header and
body timeouts and the 1 MiB cap, and passes gunicorn only complete ones. The
measurements that chose this over granian are in docs/OPERATIONS.md (Slow clients
and timeouts).

This process renders deploy/nginx.conf from the environment, starts gunicorn
(gunicorn.conf.py, app ``ledger_project.proxied``), waits for its socket, starts
nginx, and then supervises both: if either exits, the other is stopped and so is
this process, non-zero. SIGTERM or SIGINT stop them gracefully, nginx first
(it stops accepting and finishes what it holds), then gunicorn. It does not
migrate: ``make serve`` and the compose stack run ``migrate`` before it.

Nothing here imports Django; settings reach gunicorn's workers through the
environment, as with gunicorn alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx.conf"
_PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")
_NGINX_LEVELS = {"DEBUG": "info", "INFO": "notice", "WARNING": "warn", "ERROR": "error", "CRITICAL": "crit"}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "")
    return int(value) if value.strip() else default


@dataclass(frozen=True)
class ServeConfig:
    """What the operator tunes, read once from the environment (README.md, Configuration)."""

    host: str = "127.0.0.1"
    port: int = 8000
    nginx_bin: str = "nginx"
    nginx_workers: int = 1
    worker_connections: int = 4096
    client_header_timeout: int = 10
    client_body_timeout: int = 10
    send_timeout: int = 30
    keepalive_timeout: int = 75
    proxy_timeout: int = 60
    gunicorn_keepalive: int = 75
    graceful_timeout: int = 30
    log_json: bool = True
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ServeConfig:
        debug = env.get("DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
        return cls(
            host=env.get("HOST", "").strip() or "127.0.0.1",
            port=_int(env, "PORT", 8000),
            nginx_bin=env.get("NGINX_BIN", "").strip() or _find_nginx(),
            nginx_workers=_int(env, "NGINX_WORKERS", 1),
            worker_connections=_int(env, "NGINX_WORKER_CONNECTIONS", 4096),
            client_header_timeout=_int(env, "NGINX_CLIENT_HEADER_TIMEOUT", 10),
            client_body_timeout=_int(env, "NGINX_CLIENT_BODY_TIMEOUT", 10),
            send_timeout=_int(env, "NGINX_SEND_TIMEOUT", 30),
            keepalive_timeout=_int(env, "NGINX_KEEPALIVE_TIMEOUT", 75),
            proxy_timeout=_int(env, "NGINX_PROXY_TIMEOUT", 60),
            gunicorn_keepalive=_int(env, "GUNICORN_KEEPALIVE", 75),
            graceful_timeout=_int(env, "GUNICORN_GRACEFUL_TIMEOUT", 30),
            log_json=(env.get("LOG_FORMAT") or ("plain" if debug else "json")) == "json",
            log_level=(env.get("LOG_LEVEL") or "INFO").upper(),
        )

    @property
    def listen(self) -> str:
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"{host}:{self.port}"

    @property
    def upstream_keepalive_timeout(self) -> int:
        """Shorter than gunicorn's: nginx must drop an idle connection before gunicorn does.

        Otherwise nginx can send a POST on a socket gunicorn is closing, and a POST is
        never retried (it may have moved money): the client would get a 502.
        """
        return max(1, self.gunicorn_keepalive - max(1, self.gunicorn_keepalive // 5))


def _find_nginx() -> str:
    # Debian puts it in /usr/sbin, which an unprivileged user's PATH may lack.
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin") or "nginx"


def render_nginx_conf(config: ServeConfig, run_dir: Path, socket_path: Path) -> str:
    """deploy/nginx.conf with every placeholder filled; an unknown placeholder is an error."""
    if os.geteuid() == 0:
        # Workers would otherwise drop to `nobody`, who cannot enter the private run directory.
        user = f"user {pwd.getpwuid(0).pw_name};"
    else:
        user = "# Unprivileged: the workers run as this user (no `user` directive)."
    values = {
        "USER_DIRECTIVE": user,
        "WORKERS": str(config.nginx_workers),
        "RUN_DIR": str(run_dir),
        "ERROR_LOG_LEVEL": _NGINX_LEVELS.get(config.log_level, "notice"),
        "SHUTDOWN_TIMEOUT": str(config.graceful_timeout),
        "WORKER_CONNECTIONS": str(config.worker_connections),
        "CLIENT_HEADER_TIMEOUT": str(config.client_header_timeout),
        "CLIENT_BODY_TIMEOUT": str(config.client_body_timeout),
        "SEND_TIMEOUT": str(config.send_timeout),
        "KEEPALIVE_TIMEOUT": str(config.keepalive_timeout),
        "ACCESS_LOG_FORMAT": "ledger_json" if config.log_json else "ledger_plain",
        "SOCKET": str(socket_path),
        "UPSTREAM_KEEPALIVE_TIMEOUT": str(config.upstream_keepalive_timeout),
        "LISTEN": config.listen,
        "PROXY_TIMEOUT": str(config.proxy_timeout),
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], TEMPLATE.read_text())


def gunicorn_env(config: ServeConfig, env: Mapping[str, str], run_dir: Path, socket_path: Path) -> dict[str, str]:
    """gunicorn's environment: the caller's, bound to the private socket, with metrics summed across workers."""
    child = dict(env)
    child["GUNICORN_BIND"] = f"unix:{socket_path}"
    child["GUNICORN_KEEPALIVE"] = str(config.gunicorn_keepalive)
    if not child.get("PROMETHEUS_MULTIPROC_DIR"):
        child["PROMETHEUS_MULTIPROC_DIR"] = str(run_dir / "prometheus")
    return child


def gunicorn_command() -> list[str]:
    """gunicorn with the production config, serving the app that trusts nginx's X-Real-IP on the socket."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "ledger_project.proxied:application",
    ]


def nginx_command(config: ServeConfig, run_dir: Path, conf: Path) -> list[str]:
    """nginx in the foreground (the config says ``daemon off``), logging to stderr from its first line."""
    return [config.nginx_bin, "-e", "stderr", "-p", str(run_dir), "-c", str(conf)]


def _die_with_parent() -> None:
    """In the child, before exec: if this launcher is killed outright, its children get SIGTERM."""
    # Not Linux: no prctl, and the launcher's own signal handling is all there is.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _copy_lines(stream: IO[bytes] | None) -> None:
    """nginx's log lines onto this process's stderr, until nginx and its workers have all exited."""
    if stream is None:
        return
    for line in stream:
        sys.stderr.buffer.write(line)
        sys.stderr.buffer.flush()


def _log(message: str) -> None:
    print(f"serve: {message}", file=sys.stderr, flush=True)


class Stack:
    """nginx and gunicorn, started in order and stopped in the reverse order."""

    def __init__(self, config: ServeConfig, env: Mapping[str, str], run_dir: Path) -> None:
        self.config, self.env, self.run_dir = config, env, run_dir
        self.socket_path = run_dir / "gunicorn.sock"
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.nginx: subprocess.Popen[bytes] | None = None

    def _spawn(self, command: list[str], env: Mapping[str, str], **pipes: Any) -> subprocess.Popen[bytes]:
        # A session of their own: Ctrl-C reaches only this process, which stops them in order.
        return subprocess.Popen(
            command, cwd=ROOT, env=dict(env), start_new_session=True, preexec_fn=_die_with_parent, **pipes
        )

    def start(self) -> None:
        conf = self.run_dir / "nginx.conf"
        conf.write_text(render_nginx_conf(self.config, self.run_dir, self.socket_path))
        self.gunicorn = self._spawn(
            gunicorn_command(), gunicorn_env(self.config, self.env, self.run_dir, self.socket_path)
        )
        self._wait_for_socket(timeout=60)
        # nginx opens its access log by name (/dev/stderr). Its stderr is a pipe of ours, which
        # an unprivileged nginx may always reopen (a container's stderr or a root-owned log file
        # it may not), and whose lines this process copies to its own stderr, one writer.
        self.nginx = self._spawn(
            nginx_command(self.config, self.run_dir, conf), self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        threading.Thread(target=_copy_lines, args=(self.nginx.stderr,), name="nginx-log", daemon=True).start()
        _log(f"listening on http://{self.config.listen} (nginx, then gunicorn on unix:{self.socket_path})")

    def _wait_for_socket(self, timeout: float) -> None:
        assert self.gunicorn is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.gunicorn.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.gunicorn.returncode} before listening")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    probe.connect(str(self.socket_path))
                    return
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not listen on {self.socket_path} within {timeout:.0f} s")

    def exited(self) -> str | None:
        """The name of a process that has exited, if one has."""
        for name, process in (("nginx", self.nginx), ("gunicorn", self.gunicorn)):
            if process is not None and process.poll() is not None:
                return f"{name} (exit {process.returncode})"
        return None

    def stop(self) -> None:
        """nginx first: it stops accepting and drains (worker_shutdown_timeout); then gunicorn has nothing left."""
        grace = self.config.graceful_timeout + 5
        for process, sig in ((self.nginx, signal.SIGQUIT), (self.gunicorn, signal.SIGTERM)):
            if process is None or process.poll() is not None:
                continue
            process.send_signal(sig)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def main() -> int:
    config = ServeConfig.from_env(os.environ)
    own_dir = not os.environ.get("LEDGER_RUN_DIR")
    run_dir = Path(tempfile.mkdtemp(prefix="ledger-serve-")) if own_dir else Path(os.environ["LEDGER_RUN_DIR"])
    run_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(run_dir, 0o700)  # the socket's only guard: nobody else may reach gunicorn behind nginx

    stopping = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, request_stop)

    stack = Stack(config, os.environ, run_dir)
    status = 0
    try:
        stack.start()
        while not stopping:
            gone = stack.exited()
            if gone:
                _log(f"{gone}: stopping")
                status = 1
                break
            time.sleep(0.2)
    except RuntimeError as error:
        _log(str(error))
        status = 1
    finally:
        stack.stop()
        if own_dir:
            shutil.rmtree(run_dir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
