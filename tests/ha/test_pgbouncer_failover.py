"""pgbouncer in front of the pair follows the primary through a failover (deploy/pgbouncer/pgbouncer.sh up --ha).

pgbouncer 1.18 caches the server's ``in_hot_standby`` from its pool's first
connection, so a pgbouncer per node behind ``target_session_attrs=read-write``
would hand the demoted node to libpq as a primary. The launcher's follower instead
repoints one pgbouncer at whichever node the monitor says is primary (and another
at the secondary). Through one unchanged URL, writes must resume after the primary
node dies, none may ever reach a standby, and every acknowledged one must be on the
new primary.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from bench import ha_cluster as pair

pytestmark = pytest.mark.ha

LAUNCHER = pair.ROOT / "deploy" / "pgbouncer" / "pgbouncer.sh"
DATABASE = "ledger_ha_pgbouncer"
MAX_OUTAGE_S = 20.0  # the direct pair's node kill measured 8.5-10.9 s (docs/SCALING.md)


def two_free_ports() -> int:
    """A port whose next port is free too: the primary's and the standby's pgbouncer."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no two consecutive free ports")


def server_port(conninfo: str) -> tuple[int, bool]:
    """The port of the PostgreSQL server behind ``conninfo`` and whether it is a standby."""
    with psycopg.connect(conninfo, autocommit=True, prepare_threshold=None) as conn:
        port, standby = conn.execute("SELECT current_setting('port')::int, pg_is_in_recovery()").fetchone() or (0, 0)
    return int(port), bool(standby)


class Writers:
    """Threads inserting rows through one URL on persistent connections, reconnecting on errors."""

    def __init__(self, conninfo: str, threads: int = 4) -> None:
        self.conninfo = conninfo
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked: list[tuple[int, float]] = []
        self.errors: Counter[str] = Counter()
        self.next_id = 0
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def take_id(self) -> int:
        with self.lock:
            self.next_id += 1
            return self.next_id

    def run(self) -> None:
        conn: psycopg.Connection[tuple[int]] | None = None
        while not self.stop.is_set():
            row = self.take_id()
            try:
                if conn is None:
                    conn = psycopg.connect(self.conninfo, autocommit=True, prepare_threshold=None)
                conn.execute("INSERT INTO probe (id) VALUES (%s)", [row])
                with self.lock:
                    self.acked.append((row, time.monotonic()))
            except psycopg.Error as error:
                with self.lock:
                    self.errors[getattr(error, "sqlstate", None) or type(error).__name__] += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)
        if conn is not None:
            conn.close()

    def __enter__(self) -> Writers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def test_writes_through_pgbouncer_follow_the_primary_when_its_node_dies() -> None:
    pair.ha("up")
    pair.wait_healthy()
    with psycopg.connect(pair.pair_conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    with psycopg.connect(pair.pair_conninfo(DATABASE), autocommit=True) as conn:
        conn.execute("CREATE TABLE probe (id bigint PRIMARY KEY)")

    base = Path(tempfile.mkdtemp(prefix="ledger-pgbouncer-ha-"))
    base.chmod(0o711)
    port = two_free_ports()
    env = {
        "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
        "LEDGER_PGBOUNCER_DIR": str(base / "run"),
        "LEDGER_PGBOUNCER_PORT": str(port),
        "LEDGER_PGBOUNCER_DB": DATABASE,
        "LEDGER_HA_PORT": str(pair.MONITOR_PORT),
    }
    try:
        up = subprocess.run([str(LAUNCHER), "up", "--ha"], env=env, capture_output=True, text=True, timeout=120)
        assert up.returncode == 0, up.stdout + up.stderr
        printed = dict(line.split("=", 1) for line in up.stdout.splitlines())
        primary_url = printed["DATABASE_URL"] + "?connect_timeout=3"
        standby_url = printed["DATABASE_REPLICA_URL"] + "?connect_timeout=3"
        old = pair.primary()
        assert server_port(primary_url) == (old.port, False)
        assert server_port(standby_url) == (pair.secondary().port, True)

        with Writers(primary_url) as writers:
            time.sleep(3)
            killed_at = time.monotonic()
            pair.kill_node(old)
            deadline = killed_at + 60
            while not any(at > killed_at + 0.5 for _, at in writers.acked):
                assert time.monotonic() < deadline, f"writes never resumed: {dict(writers.errors)}"
                time.sleep(0.2)
            resumed = min(at for _, at in writers.acked if at > killed_at + 0.5)
            time.sleep(5)

        outage = resumed - killed_at
        print(f"pgbouncer follower: writes resumed {outage:.2f} s after the node kill; errors {dict(writers.errors)}")
        new = next(n for n in pair.nodes() if n.reported == n.goal and n.reported in pair.PRIMARY_STATES)
        assert new.port != old.port
        assert server_port(primary_url) == (new.port, False)  # the same URL, now the new primary
        assert outage < MAX_OUTAGE_S
        assert writers.errors["25006"] == 0, "a write reached a standby (read_only_sql_transaction)"
        with psycopg.connect(pair.conninfo(new.port, DATABASE), autocommit=True) as conn:
            stored = {row for (row,) in conn.execute("SELECT id FROM probe").fetchall()}
        acked = {row for row, _ in writers.acked}
        assert acked <= stored, f"acknowledged rows missing on the new primary: {sorted(acked - stored)[:10]}"

        pair.ha("up")  # the dead node rejoins as the secondary
        pair.wait_healthy()
        deadline = time.monotonic() + 30
        while server_port(standby_url) != (pair.secondary().port, True):
            assert time.monotonic() < deadline, "the standby's pgbouncer did not follow the new secondary"
            time.sleep(0.5)
    finally:
        subprocess.run([str(LAUNCHER), "down"], env=env, capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)
        pair.ha("up")
        pair.wait_healthy()
        with psycopg.connect(pair.pair_conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
