"""Trusted documents: a transfer named by its hash (``documentId``) against the same transfer sent as text.

Same server, same run, rounds alternating so that the machine's other load
falls on both alike. By hash the server skips parsing, validating and
estimating the cost (done once per process, ``trusted.store``); by text it
already parses and validates once per process (``core.graphql.documents``)
but estimates the cost per request, and the client sends the whole text.

    python -m bench.documents [--quick]   # this section of bench/RESULTS.md alone
    make bench                            # the whole benchmark, this included
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import ROOT, Measurement, machine, median
from bench.results import merge

ROUNDS = 3
HEADING = "## Trusted documents (issue 12)"


def store_transfer(env: dict[str, str]) -> None:
    """Stores the benchmark's transfer document, as an app's build would be imported."""
    from bench.http import TRANSFER

    script = "from trusted.services import document_register as r; import sys; r(text=sys.stdin.read(), client='bench')"
    subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        input=TRANSFER,
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "ledger_project.settings"},
        check=True,
        capture_output=True,
        text=True,
    )


def measure(port: int, key: str, ids: list[str], *, quick: bool) -> list[Measurement]:
    """Alternating rounds of 1 client (latency) and 8 clients (throughput), by text then by hash."""
    from bench import http

    count = 200 if quick else 1000
    results: list[Measurement] = []
    for clients in (1, 8):
        for round_ in range(ROUNDS):
            for by_hash in (False, True):
                form = "documentId" if by_hash else "query text"
                label = f"createTransaction by {form}, {clients} client(s), round {round_ + 1}"
                results.append(http.transfers(port, key, ids, clients, count, by_hash=by_hash, label=label))
    return results


def server_work() -> list[tuple[str, float]]:
    """Microseconds of the steps the two forms differ in, timed in this process for the same transfer document."""
    import timeit

    from graphene_django.settings import graphene_settings
    from graphql import get_operation_ast

    from bench.http import TRANSFER
    from core.graphql.cost import estimate_cost
    from core.graphql.documents import DocumentCache
    from ledger_project.views import LedgerGraphQLView
    from trusted.store import DocumentStore, Stored

    schema = graphene_settings.SCHEMA.graphql_schema
    rules = tuple(LedgerGraphQLView.validation_rules)
    cache = DocumentCache()
    document = cache.get(schema, TRANSFER, rules).document
    assert document is not None
    operation = get_operation_ast(document, None)
    assert operation is not None
    variables = {"a": "QWNjb3VudDox", "b": "QWNjb3VudDoy"}
    store, stored = DocumentStore(), Stored("bench", TRANSFER, False, 0.0)
    store.cost(stored, schema, document, operation, variables)
    steps = [
        ("parse and validate (once per process on either path)", 100, lambda: cache.compile(schema, TRANSFER, rules)),
        ("by text: the text cache's lookup", 5000, lambda: cache.get(schema, TRANSFER, rules)),
        ("by text: the cost estimate", 2000, lambda: estimate_cost(schema, document, operation, variables)),
        ("by documentId: the memoized cost", 5000, lambda: store.cost(stored, schema, document, operation, variables)),
    ]
    return [(name, timeit.timeit(step, number=count) / count * 1e6) for name, count, step in steps]


def section(results: list[Measurement], command: str) -> list[str]:
    lines = [
        HEADING,
        "",
        f"Command: `{command}`. The same transfer mutation (`bench/http.py` TRANSFER, distinct accounts) over",
        "HTTP to granian (2 workers x 4 blocking threads), sent as text or named by `documentId` (stored beforehand),",
        f"{ROUNDS} alternating rounds each; the table gives the medians of the rounds. Written "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit `{machine()['commit']}`, load average "
        f"{os.getloadavg()[0]:.1f} at the end (the machine is shared: compare the two columns, not the figures "
        "with other tables).",
        "",
        "| clients | by query text: transfers/s, p50 ms | by documentId: transfers/s, p50 ms "
        "| documentId / text, throughput | errors |",
        "| --- | --- | --- | --- | --- |",
    ]
    for clients in (1, 8):
        mine = [m for m in results if f", {clients} client(s)," in m.name]
        text = [m for m in mine if "query text" in m.name]
        named = [m for m in mine if "documentId" in m.name]
        text_rate, named_rate = median([m.rate for m in text]), median([m.rate for m in named])
        lines.append(
            f"| {clients} | {text_rate:,.0f}, {median([m.p50_ms for m in text]):.2f} | "
            f"{named_rate:,.0f}, {median([m.p50_ms for m in named]):.2f} | "
            f"{named_rate / text_rate if text_rate else float('nan'):.2f} x | "
            f"{sum(m.errors for m in mine)} |"
        )
    lines += [
        "",
        "What differs per request, in microseconds (`server_work`, timed in the benchmark's process, same run):",
        "",
        "| step | us |",
        "| --- | --- |",
        *(f"| {name} | {micros:,.1f} |" for name, micros in server_work()),
        "",
        "By text the parse and validation are cached per process too (`core/graphql/documents.py`), so what a",
        "name saves on each request is the cost estimate (memoized for a stored document) and the text's bytes:",
        "a small share of a transfer, whose time is its database work. What trusted mode buys is that nothing",
        "else runs; the parse and validation of a new text (the first row) is what an attacker could no longer",
        "make the server do per request.",
    ]
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 transfers a round instead of 1,000")
    parser.add_argument("--out", default=str(ROOT / "bench" / "RESULTS.md"))
    args = parser.parse_args(argv)
    from bench.harness import pg_url, recreate_database
    from bench.run import BENCH_DB, setup_django

    recreate_database(BENCH_DB)
    setup_django()
    from graphql_relay import to_global_id

    from bench import http, service

    ids = [to_global_id("Account", str(pk)) for pk in service.open_accounts(100)]
    with http.Server(pg_url(BENCH_DB)) as server:
        store_transfer(server.env)
        results = measure(server.port, server.api_key(), ids, quick=args.quick)
    for m in results:
        print(f"  {m.name}: {m.rate:.0f} {m.unit}, p50 {m.p50_ms:.2f} ms, errors {m.errors}", flush=True)
    command = "python -m bench.documents" + (" --quick" if args.quick else "")
    merge(Path(args.out), "\n".join(section(results, command)), preamble=False)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
