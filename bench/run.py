"""``make bench``: the ledger against what PostgreSQL itself can commit, in one run.

1. pgbench TPC-B-like (scale 10, 8 clients) on the same server: the reference.
2. The service level, in this process: single transfers (1 and 8 threads,
   distinct accounts; 8 threads with 20% from one hot account), batches of
   100 and 1,000.
3. Over HTTP, the way production runs the app (bench/http.py).
4. The naive peer (bench/peer.py), on the same PostgreSQL: the second yardstick.
5. With ``--servers``, application servers side by side (bench/servers.py).
Every throughput is printed as a ratio to the same run's pgbench TPS, and the
table is written to bench/RESULTS.md; sections of that file this run does not
write (the HA pair's, the lever history) are kept as they are.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from bench import documents
from bench.harness import ROOT, Measurement, machine, pg_url, ratio, recreate_database, run_pgbench
from bench.results import merge

BENCH_DB = "ledger_bench"


def setup_django(database: str = BENCH_DB) -> None:
    os.environ.update(
        {
            "DATABASE_URL": pg_url(database),
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-not-secret",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "ledger_project.settings",
            # The in-process client speaks plain HTTP; production's HTTPS redirect would answer 301.
            "SECURE_SSL_REDIRECT": "false",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--deep",
        type=int,
        help="transactions in the ledger before the deep-page reads (default 1,000,000; quick 20,000)",
    )
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS.md"), help="where to write the table")
    parser.add_argument("--no-peer", action="store_true", help="skip the naive peer")
    parser.add_argument("--servers", action="store_true", help="also compare application servers")
    args = parser.parse_args(argv)
    scale = 0.1 if args.quick else 1.0

    print("pgbench TPC-B-like, scale 10, 8 clients ...", flush=True)
    pgbench_tps = run_pgbench(seconds=3 if args.quick else 15)
    print(f"  {pgbench_tps:.0f} tps", flush=True)

    recreate_database(BENCH_DB)
    setup_django()
    from bench import service

    accounts = service.open_accounts(100 if args.quick else 1000)
    results: list[Measurement] = []
    plan = [
        lambda: service.singles(accounts, 1, int(2000 * scale)),
        lambda: service.singles(accounts, 8, int(500 * scale)),
        lambda: service.singles(accounts, 8, int(500 * scale), hot_share=0.2),
        lambda: service.batches(accounts, 100, max(2, int(50 * scale))),
        lambda: service.batches(accounts, 1000, max(2, int(20 * scale))),
    ]
    for step in plan:
        measurement = step()
        results.append(measurement)
        print(
            f"  {measurement.name}: {measurement.rate:.0f} {measurement.unit} "
            f"({ratio(measurement.rate, pgbench_tps)} x pgbench), p50 {measurement.p50_ms:.2f} ms, "
            f"errors {measurement.errors}",
            flush=True,
        )

    http_results, http_facts = run_http(accounts, quick=args.quick, deep=args.deep)
    for measurement in http_results:
        show(measurement, pgbench_tps)
    from bench import peer

    peer_results: list[Measurement] = []
    if not args.no_peer and peer.available():
        with peer.Peer() as served:
            peer_results = [
                peer.transfers(served.port, 1, int(1000 * scale)),
                peer.transfers(served.port, 16, int(1600 * scale)),
                peer.transfers(served.port, 32, int(3200 * scale)),
                peer.page(served.port, 8, int(2000 * scale)),
            ]
        for measurement in peer_results:
            show(measurement, pgbench_tps)
    server_lines: list[str] = []
    if args.servers:
        from bench import servers

        server_lines = servers.compare(accounts, pgbench_tps, quick=args.quick)
    http_facts["peer"] = peer_results
    write_results(
        args.out,
        pgbench_tps,
        results,
        quick=args.quick,
        http_results=http_results,
        facts=http_facts,
        servers=bool(server_lines),
    )
    if server_lines:
        merge(Path(args.out), "\n".join(server_lines), preamble=False)
    print(f"wrote {args.out}")
    return 0


def show(measurement: Measurement, pgbench_tps: float) -> None:
    print(
        f"  {measurement.name}: {measurement.rate:.0f} {measurement.unit} "
        f"({ratio(measurement.rate, pgbench_tps)} x pgbench), p50 {measurement.p50_ms:.2f} ms, "
        f"errors {measurement.errors}",
        flush=True,
    )


def run_http(accounts: list[int], *, quick: bool, deep: int | None) -> tuple[list[Measurement], dict[str, object]]:
    from graphql_relay import to_global_id

    from bench import http, service
    from bench.harness import pg_url
    from bench.statements import per_operation

    ids = [to_global_id("Account", str(pk)) for pk in accounts]
    scale = 0.1 if quick else 1.0
    results: list[Measurement] = []
    facts: dict[str, object] = {}
    with http.Server(pg_url(BENCH_DB)) as server:
        key = server.api_key()
        port = server.port
        results.append(http.transfers(port, key, ids, 1, int(1000 * scale)))
        results.append(http.transfers(port, key, ids, 8, int(2000 * scale)))
        results.append(http.transfers(port, key, ids, 16, int(1600 * scale)))
        results.append(http.transfers(port, key, ids, 32, int(3200 * scale)))
        results.append(http.transfers(port, key, ids, 32, int(3200 * scale), hot_share=0.2))
        results.append(http.batches(port, key, ids, 100, max(2, int(30 * scale))))
        results.append(http.batches(port, key, ids, 1000, max(2, int(10 * scale))))
        first_page = http.reads(
            port,
            key,
            8,
            int(2000 * scale),
            http.PAGE,
            {"after": None},
            "transactions(first: 50) page, 8 clients",
            "transactions",
        )
        results.append(first_page)
        statement = http.reads(
            port,
            key,
            8,
            int(2000 * scale),
            http.STATEMENT,
            {"id": ids[1]},
            "account.entries(first: 50) statement page, 8 clients",
            "account",
        )
        results.append(statement)
        target = deep if deep is not None else (20_000 if quick else 1_000_000)
        facts["deep_transactions"] = service.grow_ledger(accounts, target)
        service.quiesce()
        near_end = service.cursor_near_end()
        deep_page = http.reads(
            port,
            key,
            8,
            int(2000 * scale),
            http.PAGE,
            {"after": near_end},
            f"deep transactions page at {facts['deep_transactions']:,} transactions",
            "transactions",
        )
        results.append(deep_page)
        again = http.reads(
            port,
            key,
            8,
            int(2000 * scale),
            http.PAGE,
            {"after": None},
            f"first transactions page at {facts['deep_transactions']:,} transactions",
            "transactions",
        )
        results.append(again)
        documents.store_transfer(server.env)
        facts["trusted_documents"] = documents.measure(port, key, ids, quick=quick)
        facts["rss_mb"] = server.worker_rss_mb()
        facts["statements"] = per_operation(key, ids[1:])
    return results, facts


def write_results(
    path: str,
    pgbench_tps: float,
    results: list[Measurement],
    *,
    quick: bool,
    http_results: list[Measurement],
    facts: dict[str, object],
    servers: bool = False,
) -> None:
    info = machine()
    command = f"python -m bench.run{' --quick' if quick else ''}{' --servers' if servers else ''}"
    batch_1000 = next(m for m in results if m.name.startswith("batch of 1000"))
    distinct_8 = next(m for m in results if "8 thread" in m.name and "distinct" in m.name)
    hot_8 = next(m for m in results if "hot" in m.name)
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `make bench` (`{command}`) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit `{info['commit']}`.",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; PostgreSQL {info['postgresql']} "
        f"on the same machine; Python {info['python']}.",
        "",
        f"Reference: **pgbench TPC-B-like, scale 10, 8 clients: {pgbench_tps:.0f} transactions/s** (same run, "
        "same server). Every throughput below is also given as a ratio to it.",
        "",
        "## Service level (one process, no HTTP)",
        "",
        "| measurement | throughput | x pgbench | p50 ms | p99 ms | errors |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for m in results:
        lines.append(
            f"| {m.name} | {m.rate:,.0f} {m.unit} | {ratio(m.rate, pgbench_tps)} | {m.p50_ms:.2f} | "
            f"{m.p99_ms:.2f} | {m.errors} |"
        )
    batch_ok = batch_1000.rate >= 5 * pgbench_tps
    hot_ratio = hot_8.rate / distinct_8.rate if distinct_8.rate else 0.0
    lines += [
        "",
        "p50/p99 are per call: one transfer, or one whole batch. Errors count calls that did not complete",
        "(for single transfers every sender is funded, so any error is a failure of ours).",
        "",
        "## Targets",
        "",
        "| target | measured | verdict |",
        "| --- | --- | --- |",
        f"| batches of 1,000 >= 5 x pgbench TPS (issue 2) | {ratio(batch_1000.rate, pgbench_tps)} x | "
        f"{'PASS' if batch_ok else 'MISS'} |",
        f"| hot account (20%) >= 0.6 x distinct accounts, 8 threads, no error | {hot_ratio:.2f} x, "
        f"{hot_8.errors} errors | {'PASS' if hot_ratio >= 0.6 and hot_8.errors == 0 else 'MISS'} |",
        "",
        *http_section(pgbench_tps, http_results, facts),
        *documents.section(
            cast(list[Measurement], facts["trusted_documents"]),
            f"make bench ({command})",
        ),
        "## Where the time goes",
        "",
        "See `bench/PROFILE.md`.",
        "",
    ]
    # The sections written here replace their namesakes; the others (the HA pair's, bench/ha.py's) are kept.
    merge(Path(path), "\n".join(lines), preamble=True)


def http_section(pgbench_tps: float, results: list[Measurement], facts: dict[str, Any]) -> list[str]:
    def find(prefix: str) -> Measurement:
        return next(m for m in results if m.name.startswith(prefix))

    lines = [
        "## Over HTTP (granian, 2 workers x 4 blocking threads; the load generator shares the machine)",
        "",
        "| measurement | throughput | x pgbench | p50 ms | p99 ms | errors |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for m in results:
        lines.append(
            f"| {m.name} | {m.rate:,.0f} {m.unit} | {ratio(m.rate, pgbench_tps)} | {m.p50_ms:.2f} | "
            f"{m.p99_ms:.2f} | {m.errors} |"
        )
    statements = facts["statements"]
    lines += [
        "",
        "SQL statements per request (`bench.statements`, in-process, the whole stack; psycopg's BEGIN not "
        "counted, COPY and COMMIT counted; tests/bench/test_statement_counts.py holds them): "
        + "; ".join(f"{k}: {v}" for k, v in statements.items())
        + ".",
        "",
        f"Largest granian worker RSS after the run: {facts['rss_mb']:.0f} MB.",
        "",
    ]
    single_32 = find("createTransaction over HTTP, 32 client(s), distinct")
    hot_32 = find("createTransaction over HTTP, 32 client(s), 20%")
    single_1 = find("createTransaction over HTTP, 1 client")
    batch = find("createTransactions of 1000")
    page = find("transactions(first: 50) page")
    deep_page, first_again = find("deep transactions page"), find("first transactions page at")
    page_statements = statements["transactions(first: 50) with sender/receiver"]
    rows = [
        (
            "single transfers, 32 clients, >= 0.25 x pgbench",
            f"{ratio(single_32.rate, pgbench_tps)} x",
            single_32.rate >= 0.25 * pgbench_tps,
        ),
        (
            "hot account >= 0.6 x distinct, no client error",
            f"{hot_32.rate / single_32.rate:.2f} x, {hot_32.errors} errors",
            hot_32.rate >= 0.6 * single_32.rate and hot_32.errors == 0,
        ),
        ("p50 single transfer, 1 client, <= 2.1 ms", f"{single_1.p50_ms:.2f} ms", single_1.p50_ms <= 2.1),
        (
            "createTransactions of 1,000 >= 5 x pgbench",
            f"{ratio(batch.rate, pgbench_tps)} x",
            batch.rate >= 5 * pgbench_tps,
        ),
        (
            "50-row page <= 3 statements and >= 0.1 x pgbench",
            f"{page_statements} statements, {ratio(page.rate, pgbench_tps)} x",
            page_statements <= 3 and page.rate >= 0.1 * pgbench_tps,
        ),
        (
            "deep page latency <= 1.2 x first page",
            f"{deep_page.p50_ms:.2f} ms vs {first_again.p50_ms:.2f} ms p50",
            deep_page.p50_ms <= 1.2 * first_again.p50_ms,
        ),
        ("worker RSS <= 120 MB", f"{facts['rss_mb']:.0f} MB", facts["rss_mb"] <= 120),
    ]
    lines += ["### Targets (issue 5)", "", "| target | measured | verdict |", "| --- | --- | --- |"]
    lines += [f"| {name} | {measured} | {'PASS' if ok else 'MISS'} |" for name, measured, ok in rows]
    return [*lines, "", *peer_section(pgbench_tps, results, facts)]


def peer_section(pgbench_tps: float, results: list[Measurement], facts: dict[str, Any]) -> list[str]:
    """The naive peer's figures, and issue 16's targets as ratios to it and to pgbench."""
    peer: list[Measurement] = facts.get("peer") or []
    if not peer:
        return ["## Against the naive peer", "", "Not measured in this run (`--no-peer`, or no peer found).", ""]

    def find(among: list[Measurement], prefix: str) -> Measurement:
        return next(m for m in among if m.name.startswith(prefix))

    def times(value: float, reference: float) -> str:
        return f"{value / reference:.2f} x" if reference else "n/a"

    lines = [
        "## Against the naive peer",
        "",
        "The naive graphene-django peer (bench/peer.py: its `setup.sh` and `serve.sh`, gunicorn 2 sync workers, "
        "its own database on the same server), measured after the ledger in the same run, same load generator.",
        "",
        "| measurement | throughput | x pgbench | p50 ms | p99 ms | errors |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for m in peer:
        lines.append(
            f"| {m.name} | {m.rate:,.0f} {m.unit} | {ratio(m.rate, pgbench_tps)} | {m.p50_ms:.2f} | "
            f"{m.p99_ms:.2f} | {m.errors} |"
        )
    ours = {n: find(results, f"createTransaction over HTTP, {n} client(s), distinct") for n in (1, 16, 32)}
    theirs = {n: find(peer, f"peer: createTransaction, {n} client(s)") for n in (1, 16, 32)}
    hot = find(results, "createTransaction over HTTP, 32 client(s), 20%")
    batch = find(results, "createTransactions of 1000")
    page, peer_page = find(results, "transactions(first: 50) page"), find(peer, "peer: transactions(first: 50)")
    statement = find(results, "account.entries(first: 50)")
    deep_page, first_again = find(results, "deep transactions page"), find(results, "first transactions page at")
    page_statements = facts["statements"]["transactions(first: 50) with sender/receiver"]
    rows = []
    for n in (16, 32):
        rows.append(
            (
                f"single transfers, {n} clients, distinct: >= 3 x the peer and >= 0.25 x pgbench",
                f"{times(ours[n].rate, theirs[n].rate)} the peer, {ratio(ours[n].rate, pgbench_tps)} x pgbench",
                ours[n].rate >= 3 * theirs[n].rate and ours[n].rate >= 0.25 * pgbench_tps,
            )
        )
    rows += [
        (
            "hot account (20% from one sender) >= 0.6 x distinct, 32 clients, no client error",
            f"{times(hot.rate, ours[32].rate)}, {hot.errors} errors",
            hot.rate >= 0.6 * ours[32].rate and hot.errors == 0,
        ),
        (
            "p50 of a single transfer, 1 client, <= 1/3 of the peer's",
            f"{ours[1].p50_ms:.2f} ms vs {theirs[1].p50_ms:.2f} ms ({times(ours[1].p50_ms, theirs[1].p50_ms)})",
            ours[1].p50_ms * 3 <= theirs[1].p50_ms,
        ),
        (
            "createTransactions of 1,000 >= 5 x pgbench",
            f"{ratio(batch.rate, pgbench_tps)} x",
            batch.rate >= 5 * pgbench_tps,
        ),
        (
            "50-row page: <= 3 statements, >= 3 x the peer's page, >= 0.1 x pgbench",
            f"{page_statements} statements, {times(page.rate, peer_page.rate)} the peer, "
            f"{ratio(page.rate, pgbench_tps)} x pgbench",
            page_statements <= 3 and page.rate >= 3 * peer_page.rate and page.rate >= 0.1 * pgbench_tps,
        ),
        (
            "statement page account.entries(first: 50) >= 0.15 x pgbench",
            f"{ratio(statement.rate, pgbench_tps)} x",
            statement.rate >= 0.15 * pgbench_tps,
        ),
        (
            f"deep page at {facts['deep_transactions']:,} rows (target: 1,000,000) <= 1.2 x the first page",
            f"{deep_page.p50_ms:.2f} ms vs {first_again.p50_ms:.2f} ms p50",
            deep_page.p50_ms <= 1.2 * first_again.p50_ms,
        ),
        ("worker RSS <= 120 MB", f"{facts['rss_mb']:.0f} MB", facts["rss_mb"] <= 120),
    ]
    lines += [
        "",
        "### Targets (issue 16)",
        "",
        "Process CPU per transfer request (`bench.profile`, the other target) is in the lever history below.",
        "",
        "| target | measured | verdict |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {name} | {measured} | {'PASS' if ok else 'MISS'} |" for name, measured, ok in rows]
    return [*lines, ""]


if __name__ == "__main__":
    raise SystemExit(main())
