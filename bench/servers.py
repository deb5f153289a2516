"""Application servers side by side, in one run (``python -m bench.run --servers``, or alone:
``python -m bench.servers``, which prints the section).

Each candidate serves the same app on the same database in turn, for two
rounds in alternating order (the machine's load drifts); a round is single
transfers at 1 and 16 clients and the 50-row page at 8 clients. Only servers
measured here are compared; what production runs is decided in
docs/DECISIONS.md (Performance), slow clients included.
"""

from __future__ import annotations

import statistics

from bench import http
from bench.harness import Measurement, pg_url, ratio

CANDIDATES = [
    ("gunicorn", 5, 2),  # production's default on 2 cores (gunicorn.conf.py: 2 x cores + 1, 2 threads)
    ("gunicorn", 2, 4),  # what make bench measured until granian won
    ("gunicorn", 2, 8),
    ("granian", 2, 4),  # production's default on 2 cores (ledger_project/serve.py), and make bench's
]


def one_round(server: http.Server, key: str, ids: list[str], scale: float) -> list[Measurement]:
    return [
        http.transfers(server.port, key, ids, 1, int(400 * scale)),
        http.transfers(server.port, key, ids, 16, int(1600 * scale)),
        http.reads(
            server.port, key, 8, int(800 * scale), http.PAGE, {"after": None}, "50-row page, 8 clients", "transactions"
        ),
    ]


def compare(accounts: list[int], pgbench_tps: float, *, quick: bool, database: str = "ledger_bench") -> list[str]:
    """The markdown section: per server, the median of its rounds."""
    from graphql_relay import to_global_id

    ids = [to_global_id("Account", str(pk)) for pk in accounts]
    scale = 0.25 if quick else 1.0
    measured: dict[str, list[list[Measurement]]] = {}
    key = ""
    for round_number in range(2):
        order = CANDIDATES if round_number % 2 == 0 else list(reversed(CANDIDATES))
        for kind, workers, threads in order:
            with http.Server(pg_url(database), port=8092, kind=kind, workers=workers, threads=threads) as server:
                key = key or server.api_key()
                results = one_round(server, key, ids, scale)
                measured.setdefault(server.label, []).append(results)
                print(f"  {server.label}: " + ", ".join(f"{m.rate:.0f}/s p50 {m.p50_ms:.2f}" for m in results))
    lines = [
        "## Application servers (issue 16)",
        "",
        "Same run, same database, the app alone on 127.0.0.1 (no nginx), two rounds in alternating order; "
        "each figure the median of its rounds (`python -m bench.run --servers`).",
        "",
        "| server | transfer p50, 1 client | transfers/s, 16 clients | x pgbench | 50-row pages/s, 8 clients "
        "| errors |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, rounds in measured.items():
        p50 = statistics.median(r[0].p50_ms for r in rounds)
        rate16 = statistics.median(r[1].rate for r in rounds)
        pages = statistics.median(r[2].rate for r in rounds)
        errors = sum(m.errors for r in rounds for m in r)
        lines.append(
            f"| {label} | {p50:.2f} ms | {rate16:,.0f} | {ratio(rate16, pgbench_tps)} | {pages:,.0f} | {errors} |"
        )
    return [*lines, ""]


def main() -> int:
    from bench.harness import recreate_database, run_pgbench
    from bench.run import setup_django

    database = "ledger_bench_servers"
    pgbench_tps = run_pgbench(seconds=10)
    recreate_database(database)
    setup_django(database)
    from bench import service

    accounts = service.open_accounts(1000)
    print("\n".join(compare(accounts, pgbench_tps, quick=False, database=database)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
