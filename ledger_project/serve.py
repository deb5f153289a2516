"""The production HTTP stack in one command: ``python -m ledger_project.serve`` (``make serve``, the image).

nginx faces the clients and the application server runs the app behind it, on a
Unix socket in a private run directory. nginx reads whole requests in its event
loop, with header and body timeouts and the 1 MiB cap, and passes the app server
only complete ones: neither gunicorn's gthread workers nor granian's blocking
threads may wait on a client that dribbles (issue 9, class 4; docs/OPERATIONS.md,
Slow clients and timeouts).

The application server is granian (``LEDGER_APP_SERVER``, default ``granian``):
it parses HTTP in Rust, outside the GIL, and measured 1.29 x gunicorn's
transfers/s on two cores (bench/RESULTS.md, Application servers). gunicorn
(gunicorn.conf.py) stays one setting away, ``LEDGER_APP_SERVER=gunicorn``.

This process renders deploy/nginx.conf from the environment, starts the app
server (app ``ledger_project.proxied``), waits for its socket, starts nginx, and
then supervises both: if either exits, the other is stopped and so is this
process, non-zero. SIGTERM or SIGINT stop them gracefully, nginx first (it stops
accepting and finishes what it holds), then the app server. It does not migrate:
``make serve`` and the compose stack run ``migrate`` before it.

Nothing here imports Django; settings reach the app's workers through the
environment.
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


APP_SERVERS = ("granian", "gunicorn")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "")
    return int(value) if value.strip() else default


def _cores() -> int:
    """The CPUs this process may run on (a container's cpuset), not the host's count."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _app_server(env: Mapping[str, str]) -> str:
    name = env.get("LEDGER_APP_SERVER", "").strip().lower() or "granian"
    if name not in APP_SERVERS:
        raise ValueError(f"LEDGER_APP_SERVER must be one of {', '.join(APP_SERVERS)}, not {name!r}")
    return name


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
    app_server: str = "granian"
    # granian: one process per core (capped: each adds database connections), each with
    # this many threads running the app; a thread holds one persistent database connection.
    granian_workers: int = 2
    granian_blocking_threads: int = 4
    # Requests a worker runs at once (0: as many as its threads); more wait in the socket's
    # backlog, where another worker may take them, instead of queueing inside this one.
    granian_backpressure: int = 0
    # granian also closes an idle keep-alive connection after this long (hyper's header
    # read timer runs while a connection waits for its next request).
    granian_header_read_timeout_ms: int = 30_000
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
            app_server=_app_server(env),
            granian_workers=_int(env, "GRANIAN_WORKERS", min(_cores(), 8)),
            granian_blocking_threads=_int(env, "GRANIAN_BLOCKING_THREADS", 4),
            granian_backpressure=_int(env, "GRANIAN_BACKPRESSURE", 0),
            granian_header_read_timeout_ms=_int(env, "GRANIAN_HTTP1_HEADER_READ_TIMEOUT", 30_000),
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
    def app_idle_timeout(self) -> int:
        """Seconds the app server keeps an idle keep-alive connection from nginx open."""
        if self.app_server == "gunicorn":
            return self.gunicorn_keepalive
        return max(1, self.granian_header_read_timeout_ms // 1000)

    @property
    def upstream_keepalive_timeout(self) -> int:
        """Shorter than the app server's: nginx must drop an idle connection before the app server does.

        Otherwise nginx can send a POST on a socket the app server is closing, and a POST
        is never retried (it may have moved money): the client would get a 502.
        """
        idle = self.app_idle_timeout
        return max(1, idle - max(1, idle // 5))


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
        # gunicorn writes its own access lines, so nginx logs only what never reached it;
        # granian writes none, so nginx logs every request, with the app's request ID.
        "ACCESS_LOG_CONDITION": " if=$ledger_refused_by_proxy" if config.app_server == "gunicorn" else "",
        "SOCKET": str(socket_path),
        "UPSTREAM_KEEPALIVE_TIMEOUT": str(config.upstream_keepalive_timeout),
        "LISTEN": config.listen,
        "PROXY_TIMEOUT": str(config.proxy_timeout),
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], TEMPLATE.read_text())


def app_env(config: ServeConfig, env: Mapping[str, str], run_dir: Path, socket_path: Path) -> dict[str, str]:
    """The app server's environment: the caller's, bound to the private socket, with metrics summed across workers."""
    child = dict(env)
    if config.app_server == "gunicorn":
        child["GUNICORN_BIND"] = f"unix:{socket_path}"
        child["GUNICORN_KEEPALIVE"] = str(config.gunicorn_keepalive)
    if not child.get("PROMETHEUS_MULTIPROC_DIR"):
        child["PROMETHEUS_MULTIPROC_DIR"] = str(run_dir / "prometheus")
    return child


def empty_metrics_dir(env: Mapping[str, str]) -> None:
    """A new start counts from zero: a previous run's files would resurrect its counts.

    gunicorn does this in its master (gunicorn.conf.py, on_starting); granian has no
    such hook, so the launcher does it before either starts. The files hold counters
    and histograms only (every gauge is computed when scraped, ledger_project/metrics.py),
    so a worker that dies and is replaced leaves nothing that must be marked dead.
    """
    directory = Path(env["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def granian_command(config: ServeConfig, bind: list[str]) -> list[str]:
    """granian's WSGI interface, every setting explicit (docs/OPERATIONS.md); ``bind``: where it listens.

    make bench runs the same command on a loopback port (bench/http.py), so what is measured is what runs.
    """
    return [
        sys.executable, "-m", "granian", "--interface", "wsgi", "--http", "1", *bind,
        "--workers", str(config.granian_workers),
        "--blocking-threads", str(config.granian_blocking_threads),
        "--backpressure", str(config.granian_backpressure or config.granian_blocking_threads),
        "--http1-header-read-timeout", str(config.granian_header_read_timeout_ms),
        # An idle thread would otherwise exit after 30 s and take its database connection with it.
        "--blocking-threads-idle-timeout", "600",
        # nginx logs every request with its request ID; the app logs its own lines.
        "--no-access-log", "--log-level", config.log_level.lower(),
        "--respawn-failed-workers", "--workers-kill-timeout", str(config.graceful_timeout),
        "ledger_project.proxied:application",
    ]  # fmt: skip


def app_command(config: ServeConfig, socket_path: Path) -> list[str]:
    """The app server's command line, listening only on the private socket."""
    if config.app_server == "granian":
        return granian_command(config, ["--uds", str(socket_path), "--uds-permissions", "600"])
    return gunicorn_command()


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
    """nginx and the app server, started in order and stopped in the reverse order."""

    def __init__(self, config: ServeConfig, env: Mapping[str, str], run_dir: Path) -> None:
        self.config, self.env, self.run_dir = config, env, run_dir
        self.socket_path = run_dir / "app.sock"
        self.app: subprocess.Popen[bytes] | None = None
        self.nginx: subprocess.Popen[bytes] | None = None

    def _spawn(self, command: list[str], env: Mapping[str, str], **pipes: Any) -> subprocess.Popen[bytes]:
        # A session of their own: Ctrl-C reaches only this process, which stops them in order.
        return subprocess.Popen(
            command, cwd=ROOT, env=dict(env), start_new_session=True, preexec_fn=_die_with_parent, **pipes
        )

    def start(self) -> None:
        conf = self.run_dir / "nginx.conf"
        conf.write_text(render_nginx_conf(self.config, self.run_dir, self.socket_path))
        child_env = app_env(self.config, self.env, self.run_dir, self.socket_path)
        empty_metrics_dir(child_env)
        self.app = self._spawn(app_command(self.config, self.socket_path), child_env)
        self._wait_for_socket(timeout=60)
        # nginx opens its access log by name (/dev/stderr). Its stderr is a pipe of ours, which
        # an unprivileged nginx may always reopen (a container's stderr or a root-owned log file
        # it may not), and whose lines this process copies to its own stderr, one writer.
        self.nginx = self._spawn(
            nginx_command(self.config, self.run_dir, conf), self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        threading.Thread(target=_copy_lines, args=(self.nginx.stderr,), name="nginx-log", daemon=True).start()
        server = self.config.app_server
        _log(f"listening on http://{self.config.listen} (nginx, then {server} on unix:{self.socket_path})")

    def _wait_for_socket(self, timeout: float) -> None:
        assert self.app is not None
        name = self.config.app_server
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.app.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.app.returncode} before listening")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    probe.connect(str(self.socket_path))
                    return
                except OSError:
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not listen on {self.socket_path} within {timeout:.0f} s")

    def exited(self) -> str | None:
        """The name of a process that has exited, if one has."""
        for name, process in (("nginx", self.nginx), (self.config.app_server, self.app)):
            if process is not None and process.poll() is not None:
                return f"{name} (exit {process.returncode})"
        return None

    def stop(self) -> None:
        """nginx first: it stops accepting and drains (worker_shutdown_timeout); then the app server is idle."""
        grace = self.config.graceful_timeout + 5
        for process, sig in ((self.nginx, signal.SIGQUIT), (self.app, signal.SIGTERM)):
            if process is None or process.poll() is not None:
                continue
            process.send_signal(sig)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def main() -> int:
    try:
        config = ServeConfig.from_env(os.environ)
    except ValueError as error:
        _log(str(error))
        return 2
    own_dir = not os.environ.get("LEDGER_RUN_DIR")
    run_dir = Path(tempfile.mkdtemp(prefix="ledger-serve-")) if own_dir else Path(os.environ["LEDGER_RUN_DIR"])
    run_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(run_dir, 0o700)  # the socket's guard: nobody else may reach the app server behind nginx

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
