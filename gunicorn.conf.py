"""Gunicorn settings for production, behind nginx: ``python -m ledger_project.serve`` starts both.

In production gunicorn never faces clients: ledger_project/serve.py binds it to a
private Unix socket (GUNICORN_BIND) behind nginx, which buffers whole requests
first (docs/OPERATIONS.md, Slow clients and timeouts). ``gunicorn -c gunicorn.conf.py
ledger_project.wsgi`` alone still works, for development and tests, but must not
be exposed: see ``timeout`` below.

Everything an operator tunes comes from the environment (README.md, Configuration).
The defaults suit a 2-core machine: each request spends most of its time waiting on
PostgreSQL, so a few processes with a few threads each keep both cores busy while
holding few database connections (workers x threads, one persistent connection each).
"""

from __future__ import annotations

import glob
import multiprocessing
import os
from typing import Any


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


# The CPUs this process may run on (a container's cpuset), not the host's count.
_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else multiprocessing.cpu_count()

# --- Serving ----------------------------------------------------------------------
# serve.py sets GUNICORN_BIND to its private Unix socket. Without it, gunicorn run by
# hand listens on every interface on PORT, exposed to slow clients (see timeout).
bind = [os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{_env_int('PORT', 8000)}"]
# 2 x cores + 1, capped: on a big host each extra process only adds database connections.
workers = _env_int("GUNICORN_WORKERS", min(2 * _cores + 1, 9))
threads = _env_int("GUNICORN_THREADS", 2)
worker_class = "gthread" if threads > 1 else "sync"
# A worker silent this long is killed and replaced (a stuck request). Slow clients are
# not covered by it, and they do count: a gthread worker reads a request's headers and
# body in the thread that then runs it, so a client dribbling either holds that thread,
# and 30 such sockets held every thread of the default setup (issue 9). That is why
# clients reach nginx, never gunicorn (ledger_project/serve.py).
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM in-flight requests get this long to finish; each money operation is one
# short database transaction, so a deploy never cuts one in half.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Idle keep-alive connections wait in the worker's poller, not in a thread. Behind nginx
# serve.py sets 75 s, above nginx's idle timeout for its upstream connections, so nginx
# always drops an idle connection first; alone, 5 s.
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
# Recycling workers bounds slow leaks; off by default (each recycle leaves one more
# prometheus file to aggregate).
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 0)
# Requests bigger than the API's 1 MiB are refused by nginx (and by the app) with 413;
# these only guard the header parser.
limit_request_line = 8190
limit_request_fields = 100
# The app is imported once in the master and forked: faster start, shared memory.
preload_app = os.environ.get("GUNICORN_PRELOAD", "false").lower() in {"1", "true", "yes", "on"}
# No control socket: containers are managed by signals, and two servers on one host
# (tests, blue-green) would fight over the one default socket path.
control_socket_disable = True
# Worker heartbeat files on tmpfs, not on a container's overlay filesystem.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# --- Logs -------------------------------------------------------------------------
# Both to stderr (the container runtime collects them). Every access line carries the
# request ID the app returns in X-Request-ID, so a client's complaint, the access log
# and the app's own lines meet on one key.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s ua="%(a)s"'
# The same choice as settings.py: JSON lines unless DEBUG is on or LOG_FORMAT says otherwise.
_debug = os.environ.get("DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
_json_logs = (os.environ.get("LOG_FORMAT") or ("plain" if _debug else "json")) == "json"
if _json_logs:
    # The JSON formatter reads gunicorn's access atoms (method, path, status, duration,
    # request ID) into fields of their own; see core.logging.JsonFormatter.
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "core.logging.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": loglevel.upper()},
        "loggers": {
            "gunicorn.error": {"handlers": ["stderr"], "level": loglevel.upper(), "propagate": False},
            "gunicorn.access": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }

# --- Prometheus multiprocess mode ---------------------------------------------------
# With several worker processes each keeps its own counters; prometheus_client sums
# them from files in PROMETHEUS_MULTIPROC_DIR. The directory must exist before any
# worker imports prometheus_client, must start empty (stale files would resurrect the
# last run's counts), and a dead worker's live gauges must be dropped.
_multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if _multiproc_dir:
    os.makedirs(_multiproc_dir, exist_ok=True)


def on_starting(server: Any) -> None:
    """Empties the metrics directory once, in the master, before any worker forks."""
    if _multiproc_dir:
        for path in glob.glob(os.path.join(_multiproc_dir, "*.db")):
            os.remove(path)


def child_exit(server: Any, worker: Any) -> None:
    """Marks a dead worker's files so its live gauges stop counting; counters are kept."""
    if _multiproc_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, _multiproc_dir)
