"""The HA pair of deploy/ha/ha.sh, seen from Python: its state, its primary, and ways to kill it.

The monitor's ``pgautofailover.node`` table is the truth about roles; the
postmaster's pid comes from ``postmaster.pid`` in the node's data directory. Each
node's ``pg_autoctl run`` was started under ``setsid``, so the postmaster's
process group is the node's keeper and postmaster together: killing that group
is the machine dying, killing the postmaster alone is PostgreSQL crashing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
HA_SCRIPT = ROOT / "deploy" / "ha" / "ha.sh"
HA_DIR = Path(os.environ.get("LEDGER_HA_DIR", "/var/lib/ledger-ha"))
MONITOR_PORT = int(os.environ.get("LEDGER_HA_PORT", "6000"))
NODE_PORTS = (MONITOR_PORT + 1, MONITOR_PORT + 2)
PRIMARY_STATES = ("single", "wait_primary", "primary")


@dataclass(frozen=True)
class Node:
    name: str
    port: int
    reported: str
    goal: str

    @property
    def pgdata(self) -> Path:
        return HA_DIR / self.name


def ha(command: str, timeout: float = 300) -> str:
    """Runs ``deploy/ha/ha.sh COMMAND`` and returns its stdout (stderr passes through)."""
    return subprocess.run(
        [str(HA_SCRIPT), command], check=True, stdout=subprocess.PIPE, text=True, timeout=timeout
    ).stdout


def conninfo(port: int, dbname: str = "postgres") -> str:
    return f"host=127.0.0.1 port={port} user=postgres dbname={dbname} connect_timeout=2"


def pair_conninfo(dbname: str, attrs: str = "read-write") -> str:
    """libpq's own multi-host form, as the app's DATABASE_URL says it."""
    hosts = ",".join("127.0.0.1" for _ in NODE_PORTS)
    ports = ",".join(str(port) for port in NODE_PORTS)
    return f"host={hosts} port={ports} user=postgres dbname={dbname} target_session_attrs={attrs} connect_timeout=2"


def pair_url(dbname: str, attrs: str = "read-write", extra: str = "") -> str:
    hosts = ",".join(f"127.0.0.1:{port}" for port in NODE_PORTS)
    return f"postgres://postgres@{hosts}/{dbname}?target_session_attrs={attrs}&connect_timeout=2{extra}"


def printed_urls(dbname: str) -> dict[str, str]:
    """``ha.sh urls`` (DATABASE_URL, DATABASE_REPLICA_URL) for ``dbname``: the app runs on what the script prints.

    ``connect_timeout=2`` is added, as in ``pair_url``: a dead node's address costs
    2 s at most before libpq tries the next host.
    """
    urls: dict[str, str] = {}
    for line in ha("urls").splitlines():
        name, _, url = line.partition("=")
        base, _, query = url.partition("?")
        urls[name] = f"{base.rsplit('/', 1)[0]}/{dbname}?{query}&connect_timeout=2"
    return urls


def nodes() -> list[Node]:
    with psycopg.connect(conninfo(MONITOR_PORT, "pg_auto_failover"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nodename, nodeport, reportedstate::text, goalstate::text FROM pgautofailover.node ORDER BY nodeid"
        ).fetchall()
    return [Node(*row) for row in rows]


def healthy() -> bool:
    """One primary and one secondary, each where the monitor wants it."""
    try:
        states = {(node.reported, node.goal) for node in nodes()}
    except psycopg.Error:
        return False
    return states == {("primary", "primary"), ("secondary", "secondary")}


def wait_healthy(timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not healthy():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the pair is not primary + secondary after {timeout:.0f} s: {nodes()}")
        time.sleep(0.5)


def primary() -> Node:
    for node in nodes():
        if node.reported == node.goal == "primary":
            return node
    raise RuntimeError(f"no settled primary: {nodes()}")


def secondary() -> Node:
    for node in nodes():
        if node.reported == node.goal == "secondary":
            return node
    raise RuntimeError(f"no settled secondary: {nodes()}")


def postmaster_pid(node: Node) -> int:
    return int((node.pgdata / "postmaster.pid").read_text().split()[0])


def walsender_pids(node: Node) -> list[int]:
    with psycopg.connect(conninfo(node.port), autocommit=True) as conn:
        return [row[0] for row in conn.execute("SELECT pid FROM pg_stat_replication").fetchall()]


def table_scans(node: Node, dbname: str, table: str) -> int | None:
    """Scans of ``table`` that ran on ``node`` itself (its own statistics, never replicated); None if it is down.

    On a standby these are the reads the app sent there: replay applies changes
    without scanning, and the app's writes and token checks touch no such table.
    """
    try:
        with psycopg.connect(conninfo(node.port, dbname), autocommit=True) as conn:
            row = conn.execute(
                "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = %s",
                [table],
            ).fetchone()
    except psycopg.Error:
        return None
    return int(row[0]) if row else 0


def kill_postmaster(node: Node) -> None:
    """PostgreSQL crashes; its keeper lives on (and restarts it, as primary or as demoted)."""
    os.kill(postmaster_pid(node), signal.SIGKILL)


def kill_node(node: Node, also: list[int] | None = None) -> None:
    """The machine dies: the keeper and the postmaster at once (one process group), and ``also``."""
    pid = postmaster_pid(node)
    os.killpg(os.getpgid(pid), signal.SIGKILL)
    for other in also or []:
        with contextlib.suppress(ProcessLookupError):
            os.kill(other, signal.SIGKILL)


class StateLog:
    """Polls the monitor and keeps each change of (node, reported, goal) with its time."""

    def __init__(self) -> None:
        self.changes: list[tuple[float, str, str, str]] = []
        self._last: dict[str, tuple[str, str]] = {}

    def poll(self) -> None:
        try:
            current = nodes()
        except psycopg.Error:
            return
        now = time.monotonic()
        for node in current:
            if self._last.get(node.name) != (node.reported, node.goal):
                self._last[node.name] = (node.reported, node.goal)
                self.changes.append((now, node.name, node.reported, node.goal))

    def first(self, name: str, reported: tuple[str, ...], after: float) -> float | None:
        for when, node, state, _goal in self.changes:
            if node == name and state in reported and when >= after:
                return when
        return None
