"""Over HTTP, the way production runs it: granian, API keys, GraphQL POSTs.

The load generator is ours and small (stdlib threads, one keep-alive
connection each) and counts only correct answers. It shares the two cores
with the server and PostgreSQL, which the figures include.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.harness import ROOT, Measurement
from ledger_project import serve

TRANSFER = (
    "mutation($a: ID!, $b: ID!) { createTransaction(input: {senderAccount: $a, receiverAccount: $b, "
    'amount: "0.01", type: PIX}) { transaction { status } errors { code } } }'
)
BATCH = (
    "mutation($items: [TransactionSpec!]!) { createTransactions(input: {transactions: $items}) "
    "{ results { transaction { status } } errors { code } } }"
)
PAGE = (
    "query($after: String) { transactions(first: 50, after: $after) "
    "{ edges { node { sender { name } receiver { name } } } } }"
)
STATEMENT = (
    "query($id: ID!) { account(id: $id) { entries(first: 50) { edges { node { amount balanceAfter sequence } } } } }"
)


class Server:
    """The app served on 127.0.0.1:``port``: granian's WSGI interface (production's app server,
    without the nginx in front) with ``workers`` processes of ``threads`` blocking threads each, or
    ``kind="gunicorn"``: gunicorn with ``workers`` x ``threads`` (gthread, as gunicorn.conf.py reads it)."""

    def __init__(
        self, database_url: str, port: int = 8091, *, kind: str = "granian", workers: int = 2, threads: int = 4
    ) -> None:
        self.port, self.kind, self.workers, self.threads = port, kind, workers, threads
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-secret",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_ACCESS_LOG": "",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_THREADS": str(threads),
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def label(self) -> str:
        unit = "blocking threads" if self.kind == "granian" else "threads"
        return f"{self.kind}, {self.workers} workers x {self.threads} {unit}"

    def command(self) -> list[str]:
        if self.kind == "granian":
            config = serve.ServeConfig(
                granian_workers=self.workers, granian_blocking_threads=self.threads, log_level="WARNING"
            )
            return serve.granian_command(config, ["--host", "127.0.0.1", "--port", str(self.port)])
        return [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "ledger_project.wsgi"]

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"{self.kind} did not start")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def worker_rss_mb(self) -> float:
        """The largest worker's resident memory."""
        assert self.process is not None
        children: list[str] = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            children += (task / "children").read_text().split()
        sizes = []
        for pid in children:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        return max(sizes) if sizes else float("nan")

    def api_key(self) -> str:
        out = subprocess.run(
            [sys.executable, "manage.py", "create_api_key", "bench", "--create-user", "--superuser"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return out.strip().splitlines()[-1]


def load(
    port: int,
    key: str,
    clients: int,
    per_client: int,
    make: Any,
    check: Any,
    name: str,
    unit: str = "requests/s",
    weight: int = 1,
    by_hash: bool = False,
) -> Measurement:
    """``make(client_index, i)`` gives (query, variables); ``check(body)`` says if the answer is right.

    ``by_hash`` sends the document's name (``documentId``, trusted documents) instead of its text.
    """
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def run(index: int) -> None:
        nonlocal errors
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {key}"} if key else {})
        mine, bad = [], 0
        barrier.wait()
        for i in range(per_client):
            query, variables = make(index, i)
            started = time.perf_counter()
            try:
                named = {"documentId": f"sha256:{sha256(query)}"} if by_hash else {"query": query}
                connection.request("POST", "/graphql", json.dumps({**named, "variables": variables}), headers)
                response = connection.getresponse()
                body = json.loads(response.read())
                ok = response.status == 200 and "errors" not in body and check(body["data"])
            except (OSError, ValueError, http.client.HTTPException):
                ok = False
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine.append(time.perf_counter() - started)
            bad += 0 if ok else 1
        with lock:
            latencies.extend(mine)
            errors += bad

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total = clients * per_client
    return Measurement(name, (total - errors) * weight, elapsed, latencies, unit, errors)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def transfers(
    port: int,
    key: str,
    ids: list[str],
    clients: int,
    count: int,
    hot_share: float = 0.0,
    by_hash: bool = False,
    label: str | None = None,
) -> Measurement:
    hot, pool = ids[0], ids[1:]

    def make(index: int, i: int) -> tuple[str, dict[str, str]]:
        rng = random.Random(index * 1_000_003 + i)
        mine = pool[index::clients]
        sender, receiver = rng.sample(mine, 2)
        if hot_share and rng.random() < hot_share:
            sender = hot
        return TRANSFER, {"a": sender, "b": receiver}

    label = label or f"createTransaction over HTTP, {clients} client(s), " + (
        f"{int(hot_share * 100)}% from one hot account" if hot_share else "distinct accounts"
    )
    return load(
        port,
        key,
        clients,
        max(1, count // clients),
        make,
        lambda d: d["createTransaction"]["transaction"]["status"] == "COMPLETED",
        label,
        "transfers/s",
        by_hash=by_hash,
    )


def batches(port: int, key: str, ids: list[str], size: int, count: int) -> Measurement:
    def make(index: int, i: int) -> tuple[str, dict[str, Any]]:
        rng = random.Random(size * 7919 + i)
        items = []
        for _ in range(size):
            a, b = rng.sample(ids, 2)
            items.append({"senderAccount": a, "receiverAccount": b, "amount": "0.01", "type": "PIX"})
        return BATCH, {"items": items}

    return load(
        port,
        key,
        1,
        count,
        make,
        lambda d: all(r["transaction"]["status"] == "COMPLETED" for r in d["createTransactions"]["results"]),
        f"createTransactions of {size} over HTTP",
        "transfers/s",
        weight=size,
    )


def reads(
    port: int, key: str, clients: int, count: int, query: str, variables: dict[str, Any], name: str, field: str
) -> Measurement:
    return load(
        port,
        key,
        clients,
        max(1, count // clients),
        lambda c, i: (query, variables),
        lambda d: d[field] is not None,
        name,
    )
