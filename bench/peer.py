"""The naive peer (``../shared/peers/naive-graphene``, or ``LEDGER_PEER_DIR``), measured in the same run.

Its README says how to run it: ``setup.sh DIR`` (a venv, its own database,
1,000 funded accounts) and ``DIR/serve.sh PORT`` (gunicorn, 2 sync workers).
Its figures are what a straightforward graphene-django ledger reaches on this
machine: every ledger figure is also given as a ratio to them. Its page is
the README's without ``totalCount``, which its schema does not have.
"""

from __future__ import annotations

import base64
import os
import random
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench import http
from bench.harness import PG, ROOT, Measurement

PEER_SOURCE = Path(os.environ.get("LEDGER_PEER_DIR", ROOT.parent / "shared" / "peers" / "naive-graphene"))
PEER_COPY = Path(os.environ.get("LEDGER_PEER_COPY", Path(tempfile.gettempdir()) / "ledger-bench-peer"))
PEER_DB = os.environ.get("LEDGER_PEER_DB", "ledger_bench_peer")
ACCOUNTS = 1000

TRANSFER = (
    "mutation($s: ID!, $r: ID!, $a: Int!) { createTransaction(input: {sender: $s, receiver: $r, amount: $a}) "
    "{ transaction { id amount } } }"
)
PAGE = "{ transactions(first: 50) { edges { node { id amount sender { name } receiver { name } } } } }"


def available() -> bool:
    return (PEER_SOURCE / "setup.sh").is_file()


def account_id(n: int) -> str:
    return base64.b64encode(f"AccountNode:{n}".encode()).decode()


class Peer:
    """The peer set up afresh and served on ``port`` for the ``with`` block."""

    def __init__(self, port: int = 8093) -> None:
        self.port = port
        # Not this process's Django settings: the peer's manage.py would take them over its own.
        inherited = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
        self.env = {
            **inherited,
            "PEER_DB_NAME": PEER_DB,
            "PEER_DB_HOST": PG["host"],
            "PEER_DB_PORT": PG["port"],
            "PEER_DB_USER": PG["user"],
        }
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Peer:
        subprocess.run([str(PEER_SOURCE / "setup.sh"), str(PEER_COPY)], env=self.env, check=True, capture_output=True)
        self.process = subprocess.Popen(
            [str(PEER_COPY / "serve.sh"), str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{self.port}/graphql", data=b'{"query": "{ __typename }"}',
                    headers={"Content-Type": "application/json"},
                )  # fmt: skip
                urllib.request.urlopen(request, timeout=1)
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError("the naive peer did not start")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)  # gunicorn's master and workers: its own session
            self.process.wait(timeout=30)
            self.process = None


def transfers(port: int, clients: int, count: int) -> Measurement:
    """Single transfers of one centavo between distinct accounts per client, as the ledger's are made."""
    pool = list(range(2, ACCOUNTS + 1))

    def make(index: int, i: int) -> tuple[str, dict[str, Any]]:
        rng = random.Random(index * 1_000_003 + i)
        sender, receiver = rng.sample(pool[index::clients], 2)
        return TRANSFER, {"s": account_id(sender), "r": account_id(receiver), "a": 1}

    return http.load(
        port,
        "",
        clients,
        max(1, count // clients),
        make,
        lambda d: d["createTransaction"]["transaction"]["id"] is not None,
        f"peer: createTransaction, {clients} client(s), distinct accounts",
        "transfers/s",
    )


def page(port: int, clients: int, count: int) -> Measurement:
    return http.load(
        port,
        "",
        clients,
        max(1, count // clients),
        lambda c, i: (PAGE, {}),
        lambda d: len(d["transactions"]["edges"]) == 50,
        f"peer: transactions(first: 50) page, {clients} clients",
    )
