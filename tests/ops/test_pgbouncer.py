"""The app through pgbouncer in transaction mode (deploy/pgbouncer/pgbouncer.sh, DATABASE_POOLER=pgbouncer).

pgbouncer is started by the launcher the docs give operators, on a free port, in
front of the test database's server, with a pool smaller than the app's
connections, so that transactions of different app threads really do share
server connections. Skipped where pgbouncer is not installed, except in CI
(.ci/run installs it).
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.contrib.auth.models import User
from django.db import connection

from access.services import api_key_create
from tests.conftest import ensure_settlement_account
from tests.factories import make_account
from tests.ledger_checks import assert_books_balance
from tests.ops.live import env_flag, free_port, gunicorn_server
from tests.ops.support import PYTHON, ROOT, clean_env
from transactions.models import Transaction

pytestmark = pytest.mark.postgres_only

LAUNCHER = ROOT / "deploy" / "pgbouncer" / "pgbouncer.sh"
TRANSFER = (
    "mutation($a: ID!, $b: ID!, $amount: Decimal!, $key: String!) { createTransaction(input: "
    "{senderAccount: $a, receiverAccount: $b, amount: $amount, type: PIX, idempotencyKey: $key}) "
    "{ transaction { id status } errors { code field message } } }"
)


@dataclass
class Bouncer:
    port: int
    url: str  # the test database, through pgbouncer

    def admin(self, command: str) -> list[dict[str, Any]]:
        """A SHOW command on pgbouncer's admin console, as dicts."""
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="pgbouncer", autocommit=True
        ) as console:
            cursor = console.execute(command)  # the console speaks the simple protocol only
            names = [column.name for column in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def transactions(self, database: str) -> int:
        """Transactions pgbouncer has passed to ``database`` (0 before its first client: made on demand)."""
        return sum(stats["total_xact_count"] for stats in self.admin("SHOW STATS") if stats["database"] == database)

    def client(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.url, autocommit=True, prepare_threshold=None)


def require_pgbouncer() -> None:
    if shutil.which("pgbouncer") or Path("/usr/sbin/pgbouncer").exists():
        return
    message = "pgbouncer is not installed: apt-get install pgbouncer"
    if env_flag("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def pgbouncer(pool_size: int) -> Iterator[Bouncer]:
    """``deploy/pgbouncer/pgbouncer.sh up`` in front of the test database's server; ``down`` afterwards."""
    require_pgbouncer()
    settings = connection.settings_dict
    host, server_port, user = settings["HOST"] or "127.0.0.1", settings["PORT"] or "5432", settings["USER"]
    base = Path(tempfile.mkdtemp(prefix="ledger-pgbouncer-"))
    base.chmod(0o711)  # pgbouncer runs as postgres when the tests run as root
    port = free_port()
    env = clean_env(
        LEDGER_PGBOUNCER_DIR=str(base / "run"),
        LEDGER_PGBOUNCER_PORT=str(port),
        LEDGER_PGBOUNCER_POOL_SIZE=str(pool_size),
        LEDGER_PGBOUNCER_USERS=user,
        LEDGER_PGBOUNCER_DB=settings["NAME"],
    )
    try:
        up = subprocess.run(
            [str(LAUNCHER), "up", f"{host}:{server_port}"], env=env, capture_output=True, text=True, timeout=120
        )
        assert up.returncode == 0, up.stdout + up.stderr
        printed = dict(line.split("=", 1) for line in up.stdout.splitlines())
        assert printed["DATABASE_POOLER"] == "pgbouncer"
        assert printed["DATABASE_URL"] == f"postgres://{user}@127.0.0.1:{port}/{settings['NAME']}"
        yield Bouncer(port, printed["DATABASE_URL"])
    finally:
        subprocess.run([str(LAUNCHER), "down"], env=env, capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def global_id(kind: str, pk: int) -> str:
    return base64.b64encode(f"{kind}:{pk}".encode()).decode()


class PoolWatch:
    """Samples SHOW POOLS while the load runs: the most client and server connections seen at once."""

    def __init__(self, bouncer: Bouncer, database: str) -> None:
        self.bouncer, self.database = bouncer, database
        self.max_clients = self.max_servers = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            for pool in self.bouncer.admin("SHOW POOLS"):
                if pool["database"] == self.database:
                    clients = pool["cl_active"] + pool["cl_waiting"]
                    servers = sum(pool[k] for k in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login"))
                    self.max_clients, self.max_servers = max(self.max_clients, clients), max(self.max_servers, servers)
            time.sleep(0.02)

    def __enter__(self) -> PoolWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def test_transfers_from_many_threads_through_pgbouncer_keep_the_books(transactional_db: None) -> None:
    """Eight client threads, eight app threads, three server connections: every transfer once, books whole."""
    ensure_settlement_account()
    accounts = [make_account(100_000) for _ in range(6)]  # few accounts: row locks and retries under load
    _, token = api_key_create(user=User.objects.create_superuser("pooled", password="x"))
    ids = [global_id("Account", account.pk) for account in accounts]
    clients, per_client, pool_size = 8, 20, 3
    acknowledged: dict[str, str] = {}  # idempotency key -> the transaction ID the client was given
    replays: list[tuple[str, str]] = []  # (the first answer's ID, the same key's second answer's ID)
    problems: list[Any] = []
    lock = threading.Lock()

    def client(index: int, port: int) -> None:
        rng = random.Random(index)
        http_connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def send(variables: dict[str, str]) -> dict[str, Any]:
            http_connection.request(
                "POST", "/graphql", json.dumps({"query": TRANSFER, "variables": variables}), headers
            )
            response = http_connection.getresponse()
            body = json.loads(response.read())
            if response.status != 200 or "errors" in body or not body["data"]["createTransaction"]["transaction"]:
                raise AssertionError((response.status, body))
            return dict(body["data"]["createTransaction"]["transaction"])

        try:
            for number in range(per_client):
                sender, receiver = rng.sample(ids, 2)
                variables = {"a": sender, "b": receiver, "amount": f"{rng.randint(1, 900) / 100:.2f}"}
                variables["key"] = key = f"pooled-{index}-{number}"
                first = send(variables)
                assert first["status"] == "COMPLETED", first
                with lock:
                    acknowledged[key] = first["id"]
                if number % 5 == 0:  # a client that did not hear back sends the same key again
                    again = send(variables)
                    with lock:
                        replays.append((first["id"], again["id"]))
        except Exception as error:  # reported by the main thread
            with lock:
                problems.append(error)

    with pgbouncer(pool_size) as bouncer:
        database = connection.settings_dict["NAME"]
        before = bouncer.transactions(database)
        with (
            gunicorn_server(
                "ops-pgbouncer",
                DATABASE_URL=bouncer.url,
                DATABASE_POOLER="pgbouncer",
                GUNICORN_WORKERS="2",
                GUNICORN_THREADS="4",
            ) as server,
            PoolWatch(bouncer, database) as watch,
        ):
            port = int(server.url.rsplit(":", 1)[1])
            threads = [threading.Thread(target=client, args=(index, port)) for index in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=300)
        after = bouncer.transactions(database)
        # The ledger's own check, through the pooler too: its scans work without server-side cursors.
        verify = subprocess.run(
            [PYTHON, "manage.py", "verify_ledger"],
            cwd=ROOT,
            env=clean_env(DATABASE_URL=bouncer.url, DATABASE_POOLER="pgbouncer", DEBUG="false", SECRET_KEY="x" * 50),
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert not problems, problems[:3]
    assert len(acknowledged) == clients * per_client
    assert all(first == again for first, again in replays) and len(replays) == clients * (per_client // 5)
    # Each acknowledged transfer exists once, with the ID its client was given.
    stored = dict(
        Transaction.objects.filter(idempotency_key__startswith="pooled-").values_list("idempotency_key", "pk")
    )
    assert {key: global_id("Transaction", pk) for key, pk in stored.items()} == acknowledged
    assert_books_balance()
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # It all went through pgbouncer, and the app's connections shared a few server connections.
    assert after - before >= len(acknowledged)
    assert watch.max_servers <= pool_size
    assert watch.max_clients > pool_size, (watch.max_clients, watch.max_servers)


ITERATE = """
import os, django, psycopg
django.setup()
from django.contrib.contenttypes.models import ContentType
rows = ContentType.objects.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=2)
seen = [next(rows), next(rows)]
# Another client's transaction takes the server connection the first chunk came from (pgbouncer
# reuses the most recently released one first) and keeps it while the rest is fetched.
blocker = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True, prepare_threshold=None)
blocker.execute("BEGIN")
blocker.execute("SELECT 1")
seen += list(rows)
print(len(seen))
"""


@pytest.mark.django_db
def test_server_side_cursors_are_off_because_a_held_cursor_would_be_fetched_on_another_server() -> None:
    """``QuerySet.iterator()`` outside a transaction DECLAREs a WITH HOLD cursor, then FETCHes in
    later transactions, which pgbouncer may run on another server connection. With
    DATABASE_POOLER=pgbouncer the rows come in one statement instead."""
    from django.contrib.contenttypes.models import ContentType

    with pgbouncer(pool_size=2) as bouncer:

        def iterate(**env: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [PYTHON, "-c", ITERATE],
                cwd=ROOT,
                env=clean_env(
                    DJANGO_SETTINGS_MODULE="ledger_project.settings",
                    DATABASE_URL=bouncer.url,
                    DEBUG="false",
                    SECRET_KEY="x" * 50,
                    **env,
                ),
                capture_output=True,
                text=True,
                timeout=60,
            )

        unpooled, pooled = iterate(), iterate(DATABASE_POOLER="pgbouncer")
    assert unpooled.returncode != 0 and "does not exist" in unpooled.stderr, unpooled.stdout + unpooled.stderr
    assert pooled.returncode == 0, pooled.stderr
    assert int(pooled.stdout) == ContentType.objects.count() > 4


def graphql_poster(server_url: str, token: str) -> Any:
    """A keep-alive client of ``server_url``'s /graphql: post(query, variables) -> the JSON answer."""
    http_connection = http.client.HTTPConnection("127.0.0.1", int(server_url.rsplit(":", 1)[1]), timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        http_connection.request("POST", "/graphql", json.dumps({"query": query, "variables": variables or {}}), headers)
        response = http_connection.getresponse()
        body = response.read()
        assert response.status == 200, body
        return json.loads(body)

    return post


def test_the_apps_statement_timeout_does_not_reach_other_clients_of_the_pool(transactional_db: None) -> None:
    """Queries and mutations both bound their statements; none of it stays on a server connection."""
    ensure_settlement_account()
    _, token = api_key_create(user=User.objects.create_superuser("pooled", password="x"))
    sender, receiver = make_account(10_000), make_account(0)
    pool_size = 2
    with pgbouncer(pool_size) as bouncer:
        with bouncer.client() as probe:
            default = probe.execute("SHOW statement_timeout").fetchone()
        with gunicorn_server("ops-pgbouncer-timeout", DATABASE_URL=bouncer.url, DATABASE_POOLER="pgbouncer") as server:
            post = graphql_poster(server.url, token)
            for n in range(4):
                assert "errors" not in post("{ accounts(first: 1) { edges { node { id } } } }")
                variables = {"a": global_id("Account", sender.pk), "b": global_id("Account", receiver.pk)}
                moved = post(TRANSFER, {**variables, "amount": "1.00", "key": f"pooled-timeout-{n}"})
                assert moved["data"]["createTransaction"]["transaction"]["status"] == "COMPLETED", moved
        # Another client of the same pool (a settlement worker, the admin) on every server connection.
        others = [bouncer.client() for _ in range(pool_size)]
        try:
            seen = []
            for other in others:
                other.execute("BEGIN")  # held open: the next client gets another server connection
                seen.append(other.execute("SHOW statement_timeout").fetchone())
        finally:
            for other in others:
                other.close()
    assert seen == [default] * pool_size


def test_through_pgbouncer_a_read_or_a_transfer_past_the_statement_timeout_answers_query_too_complex(
    transactional_db: None,
) -> None:
    """The transaction-scoped timeout still cancels: the backstop holds behind the pooler too."""
    ensure_settlement_account()
    _, token = api_key_create(user=User.objects.create_superuser("pooled", password="x"))
    sender, receiver = make_account(10_000), make_account(0)
    transfer = {"a": global_id("Account", sender.pk), "b": global_id("Account", receiver.pk), "amount": "1.00"}
    read = "{ transactions(first: 1) { totalCount } accounts(first: 1) { totalCount } }"
    with (
        pgbouncer(4) as bouncer,
        gunicorn_server(
            "ops-pgbouncer-cancel",
            DATABASE_URL=bouncer.url,
            DATABASE_POOLER="pgbouncer",
            LEDGER_STATEMENT_TIMEOUT_MS="300",
        ) as server,
    ):
        post = graphql_poster(server.url, token)
        direct = connection.settings_dict
        with psycopg.connect(
            host=direct["HOST"] or "127.0.0.1", port=direct["PORT"] or 5432, user=direct["USER"], dbname=direct["NAME"]
        ) as holder:  # straight to the server: its transaction holds the lock until the block ends
            holder.execute(f"LOCK TABLE {Transaction._meta.db_table} IN ACCESS EXCLUSIVE MODE")
            started = time.perf_counter()
            answered = post(read)
            refused = post(TRANSFER, {**transfer, "key": "pooled-cancel"})
            took = time.perf_counter() - started
        assert took < 5, took  # cancelled at 300 ms each, not left waiting for the lock
        codes = [error["extensions"]["code"] for error in answered["errors"]]
        assert codes and set(codes) == {"QUERY_TOO_COMPLEX"}, answered  # the sibling too: never INTERNAL
        assert [error["extensions"]["code"] for error in refused["errors"]] == ["QUERY_TOO_COMPLEX"], refused
        assert not Transaction.objects.filter(idempotency_key="pooled-cancel").exists()
        settled = post(TRANSFER, {**transfer, "key": "pooled-after"})
        assert settled["data"]["createTransaction"]["transaction"]["status"] == "COMPLETED", settled
    assert_books_balance()
