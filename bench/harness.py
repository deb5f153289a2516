"""Shared pieces of the benchmarks: databases, pgbench, timing and the results table."""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}


def pg_url(database: str) -> str:
    return f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{database}"


def psql_args() -> list[str]:
    return ["-h", PG["host"], "-p", PG["port"], "-U", PG["user"]]


def recreate_database(name: str) -> None:
    subprocess.run(["dropdb", *psql_args(), "--if-exists", name], check=True, capture_output=True)
    subprocess.run(["createdb", *psql_args(), name], check=True, capture_output=True)


def run_pgbench(seconds: int, clients: int = 8, scale: int = 10) -> float:
    """TPC-B-like TPS on the same server: the physical limit every figure is compared with."""
    database = "ledger_bench_pgbench"
    recreate_database(database)
    subprocess.run(["pgbench", *psql_args(), "-i", "-q", "-s", str(scale), database], check=True, capture_output=True)
    out = subprocess.run(
        ["pgbench", *psql_args(), "-c", str(clients), "-j", "2", "-T", str(seconds), database],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    subprocess.run(["dropdb", *psql_args(), "--if-exists", database], check=True, capture_output=True)
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps:\n{out}")
    return float(match.group(1))


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile: no interpolation, a value that was observed."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Measurement:
    name: str
    operations: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds per call
    unit: str = "ops/s"
    errors: int = 0
    note: str = ""

    @property
    def rate(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies, 0.5) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 0.99) * 1000


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    server = subprocess.run(
        ["psql", *psql_args(), "-Atc", "SHOW server_version", "postgres"], capture_output=True, text=True
    ).stdout.strip()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "postgresql": server,
        "python": platform.python_version(),
        "commit": commit or "unknown",
    }


def ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}" if reference else "n/a"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
