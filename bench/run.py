"""``make bench``: the ledger against what PostgreSQL itself can commit, in one run.

1. pgbench TPC-B-like (scale 10, 8 clients) on the same server: the reference.
2. The service level, in this process: single transfers (1 and 8 threads,
   distinct accounts; 8 threads with 20% from one hot account), batches of
   100 and 1,000.
Every throughput is printed as a ratio to the same run's pgbench TPS, and the
table is written to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
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
        default=None,
        help="transactions in the ledger before the deep-page reads (default 1,000,000; quick 20,000)",
    )
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS.md"), help="where to write the table")
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
        print(
            f"  {measurement.name}: {measurement.rate:.0f} {measurement.unit} "
            f"({ratio(measurement.rate, pgbench_tps)} x pgbench), p50 {measurement.p50_ms:.2f} ms, "
            f"errors {measurement.errors}",
            flush=True,
        )
    write_results(args.out, pgbench_tps, results, quick=args.quick, http_results=http_results, facts=http_facts)
    print(f"wrote {args.out}")
    return 0


def statements_per_request(key: str, account_id: str) -> dict[str, int]:
    """SQL statements of one request of each kind, counted in-process with Django's query log."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.http import PAGE, STATEMENT, TRANSFER

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {key}")
    counts = {}
    other = account_id.replace("Ox", "Oy")
    for name, query, variables in (
        ("createTransaction", TRANSFER, {"a": account_id, "b": other}),
        ("transactions(first: 50) with sender/receiver", PAGE, {"after": None}),
        ("account.entries(first: 50)", STATEMENT, {"id": account_id}),
    ):
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                "/graphql", json.dumps({"query": query, "variables": variables}), content_type="application/json"
            )
        body = response.json()
        if response.status_code != 200 or "errors" in body:  # a refused request would count as 0 statements
            raise RuntimeError(f"{name}: {response.status_code} {body}")
        counts[name] = len(captured.captured_queries)
    return counts


def run_http(accounts: list[int], *, quick: bool, deep: int | None) -> tuple[list[Measurement], dict[str, object]]:
    from graphql_relay import to_global_id

    from bench import http, service
    from bench.harness import pg_url

    ids = [to_global_id("Account", str(pk)) for pk in accounts]
    scale = 0.1 if quick else 1.0
    results: list[Measurement] = []
    facts: dict[str, object] = {}
    with http.Server(pg_url(BENCH_DB)) as server:
        key = server.api_key()
        port = server.port
        results.append(http.transfers(port, key, ids, 1, int(1000 * scale)))
        results.append(http.transfers(port, key, ids, 8, int(2000 * scale)))
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
        facts["statements"] = statements_per_request(key, ids[1])
    return results, facts


def write_results(
    path: str,
    pgbench_tps: float,
    results: list[Measurement],
    *,
    quick: bool,
    http_results: list[Measurement],
    facts: dict[str, object],
) -> None:
    info = machine()
    batch_1000 = next(m for m in results if m.name.startswith("batch of 1000"))
    distinct_8 = next(m for m in results if "8 thread" in m.name and "distinct" in m.name)
    hot_8 = next(m for m in results if "hot" in m.name)
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `make bench` (`python -m bench.run{' --quick' if quick else ''}`) on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit `{info['commit']}`.",
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
            f"make bench (python -m bench.run{' --quick' if quick else ''})",
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
        "## Over HTTP (gunicorn, 2 workers x 4 threads; the load generator shares the machine)",
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
        "SQL statements per request (Django's query log, in-process, same requests): "
        + "; ".join(f"{k}: {v}" for k, v in statements.items())
        + " (a transfer's are the key lookup, the lock, nextval, the one write statement and COMMIT;"
        + " batches above 10 transactions add a COPY of transactions and of entries, which the log does not see)"
        + ".",
        "",
        f"Largest gunicorn worker RSS after the run: {facts['rss_mb']:.0f} MB.",
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
    return [*lines, ""]


if __name__ == "__main__":
    raise SystemExit(main())
