"""Where one request spends its time: ``python -m bench.profile [--operation transfer|page|statement|batch]``.

Calls the WSGI application gunicorn serves (every middleware, the view,
graphene, the service, PostgreSQL) in this process, one request at a time, so
the profile holds no load generator and no socket. It prints the mean time per
request without a profiler, then pyinstrument's tree of one run of
``--requests`` requests, so bench/PROFILE.md can be reproduced.

CPU time on a shared machine drifts with its load; instruction counts do not.
Under ``valgrind --tool=callgrind`` run it twice with different ``--requests``
(``--no-profile``, same ``--warmup``): the difference of the two totals divided
by the difference of the counts is the instructions per request, free of
setup (bench/PROFILE.md shows the command).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.harness import recreate_database
from bench.http import BATCH, PAGE, STATEMENT, TRANSFER

PROFILE_DB = os.environ.get("LEDGER_PROFILE_DB", "ledger_profile")


def request_maker(key: str, ids: list[str], operation: str = "transfer") -> Callable[[], dict[str, Any]]:
    """A WSGI environ for one request, as gunicorn would build it: a transfer between two random funded
    accounts, the 50-row transactions page with both parties, an account's 50-entry statement page, or a
    ``createTransactions`` of 1,000 transfers between random accounts (the benchmark's batch)."""
    rng = random.Random(7)

    def make() -> dict[str, Any]:
        if operation == "page":
            document: dict[str, Any] = {"query": PAGE, "variables": {"after": None}}
        elif operation == "statement":
            document = {"query": STATEMENT, "variables": {"id": ids[1]}}
        elif operation == "batch":
            items = [
                {"senderAccount": a, "receiverAccount": b, "amount": "0.01", "type": "PIX"}
                for a, b in (rng.sample(ids, 2) for _ in range(1000))
            ]
            document = {"query": BATCH, "variables": {"items": items}}
        else:
            sender, receiver = rng.sample(ids, 2)
            document = {"query": TRANSFER, "variables": {"a": sender, "b": receiver}}
        body = json.dumps(document).encode()
        return {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/graphql",
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Bearer {key}",
            "HTTP_ACCEPT": "application/json",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }

    return make


EXPECTED: dict[str, Callable[[dict[str, Any]], bool]] = {
    "transfer": lambda data: data["createTransaction"]["transaction"]["status"] == "COMPLETED",
    "page": lambda data: len(data["transactions"]["edges"]) == 50,
    "statement": lambda data: len(data["account"]["entries"]["edges"]) == 50,
    "batch": lambda data: all(r["transaction"]["status"] == "COMPLETED" for r in data["createTransactions"]["results"]),
}


def repeat(call: Callable[[], None], times: int) -> None:
    for _ in range(times):
        call()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per timed or profiled run")
    parser.add_argument("--warmup", type=int, default=200, help="requests before timing (connection, caches)")
    parser.add_argument("--operation", choices=sorted(EXPECTED), default="transfer")
    parser.add_argument("--no-profile", action="store_true", help="only the mean time per request")
    args = parser.parse_args(argv)

    recreate_database(PROFILE_DB)
    from bench.run import setup_django

    setup_django(PROFILE_DB)
    from django.contrib.auth import get_user_model
    from django.core.wsgi import get_wsgi_application
    from graphql_relay import to_global_id
    from pyinstrument import Profiler

    from access.services import api_key_create
    from bench.service import open_accounts

    ids = [to_global_id("Account", str(pk)) for pk in open_accounts(200)]
    user = get_user_model().objects.create_superuser("profile", "profile@example.com", None)
    key = api_key_create(user=user, name="profile")[1]
    application = get_wsgi_application()
    make = request_maker(key, ids, args.operation)
    if args.operation in ("page", "statement"):  # pages of real rows: 60 transfers from ids[1], so 60 entries on it
        for i in range(60):
            b"".join(application(request_maker(key, [ids[1], ids[2 + i % 50]])(), lambda *a: lambda data: None))

    status: list[str] = []

    def start_response(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
        status.append(code)
        return lambda data: None

    def one() -> None:
        status.clear()
        body = b"".join(application(make(), start_response))
        answer = json.loads(body)
        if not status[0].startswith("200") or "errors" in answer:
            raise RuntimeError(f"{status[0]} {answer}")
        if not EXPECTED[args.operation](answer["data"]):
            raise RuntimeError(str(answer)[:300])

    for _ in range(args.warmup):  # warm: connection, document cache, imports
        one()
    started, cpu = time.perf_counter(), time.process_time()
    repeat(one, args.requests)
    mean_ms = (time.perf_counter() - started) * 1000 / args.requests
    cpu_ms = (time.process_time() - cpu) * 1000 / args.requests
    print(
        f"{args.requests} {args.operation} requests, one at a time, no profiler: "
        f"{mean_ms:.3f} ms per request, {cpu_ms:.3f} ms CPU"
    )
    if args.no_profile:
        return 0

    profiler = Profiler(interval=0.0002)
    profiler.start()
    repeat(one, args.requests)
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
