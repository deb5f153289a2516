"""Throughput straight to PostgreSQL and through pgbouncer (transaction mode), same machine, same run.

    python -m bench.pgbouncer [--clients 32] [--seconds 20] [--rounds 2] [--pool-sizes 20,8]

Two loads, each run direct and through pgbouncer (deploy/pgbouncer/pgbouncer.sh in
front of 127.0.0.1:5432), alternating direct/pooled for ``--rounds`` rounds so that
a noisy neighbour hurts both alike; the median of each is reported:

- **HTTP transfers**: the app as production runs it (gunicorn, 2 processes x 2
  workers x 8 threads: as many database connections as clients) and ``--clients``
  client threads making PIX transfers with idempotency keys and reading every
  fourth back (bench.ha.Load). Through pgbouncer the app runs with
  DATABASE_POOLER=pgbouncer.
- **pgbench** TPC-B-like, scale 10, ``--clients`` clients.

It also records the most server connections the database had at once during each
HTTP run: direct, one per app thread; pooled, at most the pool size. That cap is
what pgbouncer is for, when app processes are many.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from bench import ha
from bench.harness import ROOT, machine, median

LAUNCHER = ROOT / "deploy" / "pgbouncer" / "pgbouncer.sh"
SERVER = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
LOGS = ROOT / "artifacts" / "pgbouncer"


def free_port_pair() -> int:
    """A free port whose next one is free too (room for the launcher's standby port)."""
    while True:
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                    return port
                except OSError:
                    continue


@contextmanager
def pgbouncer(pool_size: int, database: str) -> Iterator[int]:
    """The launcher's pgbouncer in front of 127.0.0.1:5432 on a free port; its port."""
    base = Path(tempfile.mkdtemp(prefix="ledger-bench-pgbouncer-"))
    base.chmod(0o711)
    port = free_port_pair()
    env = {
        "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
        "LEDGER_PGBOUNCER_DIR": str(base / "run"),
        "LEDGER_PGBOUNCER_PORT": str(port),
        "LEDGER_PGBOUNCER_POOL_SIZE": str(pool_size),
        "LEDGER_PGBOUNCER_DB": database,
    }
    try:
        subprocess.run([str(LAUNCHER), "up", "127.0.0.1:5432"], env=env, check=True, capture_output=True, timeout=120)
        yield port
    finally:
        subprocess.run([str(LAUNCHER), "down"], env=env, capture_output=True, timeout=60)
        subprocess.run(["rm", "-rf", str(base)], check=False)


@contextmanager
def app(database_url: str, extra: dict[str, str], processes: int = 2, threads: int = 8) -> Iterator[list[int]]:
    """``processes`` gunicorn processes of 2 workers x ``threads`` threads, on free ports."""
    env = {**ha.app_env(database_url), **extra, "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": str(threads)}
    with ha.gunicorns([env] * processes, LOGS) as ports:
        yield ports


class ServerConnections:
    """The most client backends ``database`` had at once, sampled from pg_stat_activity."""

    def __init__(self, database: str) -> None:
        self.database, self.most = database, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with psycopg.connect(SERVER, autocommit=True) as conn:
            while not self.stop.is_set():
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'",
                    [self.database],
                ).fetchone()
                self.most = max(self.most, int(row[0]) if row else 0)
                time.sleep(0.1)

    def __enter__(self) -> ServerConnections:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def http_run(
    database: str, database_url: str, api_key: str, ids: list[str], extra: dict[str, str], clients: int, seconds: float
) -> dict[str, Any]:
    """Acknowledged transfers/s of ``clients`` threads against two app processes, after a 3 s warm-up."""
    with app(database_url, extra) as ports:
        load = ha.Load(ports, api_key, ids, clients, f"pgb-{uuid.uuid4().hex[:8]}")
        with ServerConnections(database) as connections:
            load.start()
            time.sleep(3)
            counted_from, already = time.monotonic(), len(load.acks)
            time.sleep(seconds)
            rate = (len(load.acks) - already) / (time.monotonic() - counted_from)
            load.stop()
    return {
        "transfers_per_s": round(rate, 1),
        "server_connections": connections.most,
        "failed_attempts": dict(load.failures),
        "rejected": len(load.rejected),
    }


def pgbench(port: int, database: str, clients: int, seconds: float) -> float:
    command = ["pgbench", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c", str(clients), "-j", "2"]
    out = subprocess.run(
        [*command, "-T", str(int(seconds)), database],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps:\n{out}")
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pool-sizes", default="20,8", help="pgbouncer default_pool_size values to measure")
    parser.add_argument("--json", type=Path, default=LOGS / "results.json")
    args = parser.parse_args()
    pools = [int(size) for size in args.pool_sizes.split(",")]

    database = "ledger_bench_pgbouncer"
    direct_url = f"postgres://postgres@127.0.0.1:5432/{database}"
    api_key = ha.prepare(database, SERVER, direct_url)
    with app(direct_url, {}) as ports:
        ids = ha.seed_accounts(ports[0], api_key, 200)

    results: dict[str, Any] = {"machine": machine(), "clients": args.clients, "seconds": args.seconds, "runs": []}
    for round_number in range(args.rounds):
        run = http_run(database, direct_url, api_key, ids, {}, args.clients, args.seconds)
        results["runs"].append({"load": "http", "target": "direct", "round": round_number, **run})
        print(f"http direct: {run}", flush=True)
        for pool in pools:
            with pgbouncer(pool, database) as port:
                url = f"postgres://postgres@127.0.0.1:{port}/{database}"
                run = http_run(
                    database, url, api_key, ids, {"DATABASE_POOLER": "pgbouncer"}, args.clients, args.seconds
                )
            results["runs"].append({"load": "http", "target": f"pgbouncer pool {pool}", "round": round_number, **run})
            print(f"http pgbouncer pool {pool}: {run}", flush=True)

    pgbench_db = "ledger_bench_pgbouncer_pgbench"
    ha.recreate_database(pgbench_db, SERVER)
    subprocess.run(
        ["pgbench", "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-i", "-q", "-s", "10", pgbench_db],
        check=True,
        capture_output=True,
    )
    for round_number in range(args.rounds):
        tps = pgbench(5432, pgbench_db, args.clients, args.seconds)
        results["runs"].append({"load": "pgbench", "target": "direct", "round": round_number, "tps": tps})
        print(f"pgbench direct: {tps}", flush=True)
        for pool in pools:
            with pgbouncer(pool, pgbench_db) as port:
                tps = pgbench(port, pgbench_db, args.clients, args.seconds)
            results["runs"].append(
                {"load": "pgbench", "target": f"pgbouncer pool {pool}", "round": round_number, "tps": tps}
            )
            print(f"pgbench pgbouncer pool {pool}: {tps}", flush=True)
    with psycopg.connect(SERVER, autocommit=True) as conn:
        for name in (database, pgbench_db):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(f"\n{args.clients} clients, median of {args.rounds} rounds ({results['machine']['cores']} cores):")
    for load, key in (("http", "transfers_per_s"), ("pgbench", "tps")):
        direct = median([r[key] for r in results["runs"] if r["load"] == load and r["target"] == "direct"])
        print(f"  {load} direct: {direct:.1f}")
        for pool in pools:
            rows = [r for r in results["runs"] if r["load"] == load and r["target"] == f"pgbouncer pool {pool}"]
            pooled = median([r[key] for r in rows])
            conns = max((r.get("server_connections", 0) for r in rows), default=0)
            extra = f", at most {conns} server connections" if load == "http" else ""
            print(f"  {load} pgbouncer pool {pool}: {pooled:.1f} ({pooled / direct:.2f} x direct{extra})")
        if load == "http":
            most = max(
                r["server_connections"] for r in results["runs"] if r["load"] == load and r["target"] == "direct"
            )
            print(f"  (direct: at most {most} server connections)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
