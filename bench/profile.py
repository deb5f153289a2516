"""Where one ``createTransaction`` request spends its time: ``python -m bench.profile``.

Calls the WSGI application gunicorn serves (every middleware, the view,
graphene, the service, PostgreSQL) in this process, one request at a time, so
the profile holds no load generator and no socket. It prints the mean time per
request without a profiler, then pyinstrument's tree of one run of
``--requests`` transfers, so bench/PROFILE.md can be reproduced.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.harness import recreate_database
from bench.http import TRANSFER

PROFILE_DB = "ledger_profile"


def request_maker(key: str, ids: list[str]) -> Callable[[], dict[str, Any]]:
    """A WSGI environ for one transfer between two random funded accounts, as gunicorn would build it."""
    rng = random.Random(7)

    def make() -> dict[str, Any]:
        sender, receiver = rng.sample(ids, 2)
        body = json.dumps({"query": TRANSFER, "variables": {"a": sender, "b": receiver}}).encode()
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="transfers per timed or profiled run")
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
    make = request_maker(key, ids)

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
        if answer["data"]["createTransaction"]["transaction"]["status"] != "COMPLETED":
            raise RuntimeError(str(answer))

    for _ in range(200):  # warm: connection, document cache, imports
        one()
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.requests):
        one()
    mean_ms = (time.perf_counter() - started) * 1000 / args.requests
    cpu_ms = (time.process_time() - cpu) * 1000 / args.requests
    print(f"{args.requests} transfers, one at a time, no profiler: {mean_ms:.3f} ms per request, {cpu_ms:.3f} ms CPU")
    if args.no_profile:
        return 0

    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(args.requests):
        one()
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
