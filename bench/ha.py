"""The bank test that kills the primary: money keeps its shape through a failover.

    python -m bench.ha [--scenario postmaster|node|control|all] [--clients 16] [--before 8] [--after 20]

On the pair of ``make ha-up`` (deploy/ha/README.md), per scenario: a fresh database
migrated through the multi-host URL; two gunicorn processes on the two URLs
``ha.sh urls`` prints (``DATABASE_URL``, read-write, and ``DATABASE_REPLICA_URL``,
prefer-standby: queries read on the standby); accounts; then 16 client threads
making PIX transfers over HTTP, each with its own idempotency key, retried with
the same key on a connection error or a 5xx (UNAVAILABLE + 503 is the app's answer
to a lost connection; INTERNAL is counted and must not occur) until acknowledged.
After each acknowledged transfer its client reads it back, sending the
``Ledger-Read-After`` token the mutation answered: the app serves that read on the
standby once it has replayed the commit, else on the primary. After ``--before``
seconds the primary is killed, the load runs ``--after`` more seconds, then the
checks run on whichever node is primary now:

- every acknowledged transfer exists exactly once, with the ID and status the client saw;
- every acknowledgement carried a read-after token, and no client's read (with it) found
  its own acknowledged transfer missing;
- no answer was INTERNAL: a lost connection is UNAVAILABLE (503, Retry-After);
- the balances sum to 0 and no customer balance (nor available balance) is negative;
- ``manage.py verify_ledger`` exits 0;
- the write outage: from the kill to the first acknowledgement of a request sent after it.

Scenarios: ``postmaster`` SIGKILLs the primary's postmaster (PostgreSQL crashes, its
keeper lives); ``node`` SIGKILLs the keeper and the postmaster at once (the machine
dies); ``control`` is ``node`` with the app's sessions at ``synchronous_commit =
local`` and replication paused (the primary's walsender SIGSTOPped) for the last
``--pause`` seconds before the kill: the checks must then find lost transfers,
which shows that they can fail. The pair is healed (``ha.sh up``) after each one.

``--throughput`` measures instead, with no kill: single transfers over HTTP on one
plain server and on the pair, and a 50-row transactions page with reads on the
standby and on the primary only (``DATABASE_REPLICA_URL`` set or not).
``--read-your-writes`` is the read-back check's own control: with the standby's
replay stuttering, read-backs without the token miss their writes, with it none.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import itertools
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench import ha_cluster as pair

ROOT = pair.ROOT
PYTHON = sys.executable
LOGS = ROOT / "artifacts" / "ha"
RETRY_CODES = {"INTERNAL", "UNAVAILABLE"}  # retried (same key), but an INTERNAL is counted as a failure
READ_AFTER = "Ledger-Read-After"

CREATE_ACCOUNT = (
    "mutation($name: String!, $document: String!) { createAccount(input: {name: $name, document: $document, "
    'balance: "1000.00"}) { account { id } errors { code message } } }'
)
TRANSFER = (
    "mutation($a: ID!, $b: ID!, $amount: Decimal!, $key: String!) { createTransaction(input: "
    "{senderAccount: $a, receiverAccount: $b, amount: $amount, type: PIX, idempotencyKey: $key}) "
    "{ transaction { id status } errors { code field message } } }"
)
READ_BACK = "query($id: ID!) { transaction(id: $id) { id idempotencyKey } }"
PAGE = "query { transactions(first: 50) { edges { node { id amount sender { name } receiver { name } } } } }"


@dataclass
class Ack:
    key: str
    pk: int
    status: str
    sent: float  # when the acknowledged attempt was sent (monotonic)
    acked: float
    attempts: int
    port: int = 0  # the app process that acknowledged it
    read_after: str | None = None  # the Ledger-Read-After header of that answer


@dataclass
class Result:
    scenario: str
    old_primary: str = ""
    new_primary: str = ""
    acknowledged: int = 0
    lost: int = 0
    duplicated: int = 0
    mismatched: int = 0
    gave_up: int = 0
    committed_unacknowledged: int = 0
    rejected: int = 0
    unavailable_503: int = 0  # answers UNAVAILABLE with HTTP 503: the app's word for a lost connection
    internal: int = 0  # answers INTERNAL (or HTTP 500): a failover must never cause one
    other_5xx: int = 0
    connection_errors: int = 0
    acks_without_token: int = 0  # acknowledgements with no (or inconsistent) Ledger-Read-After
    reads: int = 0  # reads of a client's own acknowledged transfer, each sending its token
    reads_missing: int = 0
    reads_unanswered: int = 0  # reads never answered within 30 s
    later_reads: int = 0  # after the load, reads (with their tokens) of transfers acknowledged before the kill
    later_reads_missing: int = 0
    # Scans of the transactions table the standby itself ran from the load's start to the kill
    # (its own statistics): > 0 shows that reads were served there. Not a read count (a read
    # is several index scans).
    standby_scans_before_kill: int | None = None
    balance_sum: int | None = None
    negative_balances: int | None = None
    verify_ledger_exit: int | None = None
    write_outage_s: float | None = None
    promotion_s: float | None = None
    longest_ack_gap_s: float | None = None
    throughput_before_kill: float = 0.0
    failed_attempts: dict[str, int] = field(default_factory=dict)
    acks_per_second: dict[int, int] = field(default_factory=dict)
    lost_keys: list[str] = field(default_factory=list)
    internal_answers: list[str] = field(default_factory=list)  # the first INTERNAL answers, if any
    verify_ledger_output: str = ""

    def ok(self) -> bool:
        """What a failover must keep: nothing lost, duplicated or misread; the ledger whole."""
        return (
            self.acknowledged > 0
            and self.lost == self.duplicated == self.mismatched == self.reads_missing == 0
            and self.rejected == self.gave_up == self.internal == self.acks_without_token == 0
            and self.reads > 0
            and self.later_reads > 0
            and self.reads_unanswered == self.later_reads_missing == 0
            and self.balance_sum == 0
            and self.negative_balances == 0
            and self.verify_ledger_exit == 0
            and self.write_outage_s is not None
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_env(database_url: str, replica_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "GUNICORN_", "PROMETHEUS_"))}
    if replica_url:
        env["DATABASE_REPLICA_URL"] = replica_url
    env.update(
        DATABASE_URL=database_url,
        DEBUG="false",
        SECRET_KEY="ha-test-only-not-secret",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
        LOG_FORMAT="plain",
        GUNICORN_ACCESS_LOG="",
        GUNICORN_WORKERS="2",
        GUNICORN_THREADS="4",
    )
    return env


def manage(database_url: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=app_env(database_url),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def recreate_database(name: str, server: str) -> None:
    """``server``: a libpq conninfo of the maintenance database on the primary."""
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def prepare(database: str, server: str, database_url: str) -> str:
    """A fresh, migrated database and a superuser's API key for it."""
    recreate_database(database, server)
    migrated = manage(database_url, "migrate", "--no-input")
    if migrated.returncode:
        raise RuntimeError(f"migrate failed: {migrated.stderr[-2000:]}")
    made = manage(database_url, "create_api_key", "ha", "--create-user", "--superuser")
    if made.returncode:
        raise RuntimeError(f"create_api_key failed: {made.stderr[-2000:]}")
    return made.stdout.strip().splitlines()[-1]


@contextmanager
def app_servers(
    database_url: str, count: int, logs: Path, replica_url: str | None = None, prefix: str = "app"
) -> Iterator[list[int]]:
    """``count`` gunicorn processes (2 workers x 4 threads each) on free loopback ports; logs: ``prefix<n>.log``."""
    with gunicorns([app_env(database_url, replica_url)] * count, logs, prefix) as ports:
        yield ports


@contextmanager
def gunicorns(envs: list[dict[str, str]], logs: Path, prefix: str = "app") -> Iterator[list[int]]:
    """One gunicorn per environment, each on a free loopback port, answering /healthz before this yields."""
    gunicorn = str(Path(PYTHON).parent / "gunicorn")
    processes: list[subprocess.Popen[bytes]] = []
    ports = [free_port() for _ in envs]
    logs.mkdir(parents=True, exist_ok=True)
    try:
        for index, (port, base) in enumerate(zip(ports, envs, strict=True)):
            log = (logs / f"{prefix}{index + 1}.log").open("ab")
            processes.append(
                subprocess.Popen(
                    [gunicorn, "-c", "gunicorn.conf.py", "ledger_project.wsgi"],
                    cwd=ROOT,
                    env={**base, "GUNICORN_BIND": f"127.0.0.1:{port}"},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        for port in ports:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"gunicorn on {port} did not start; see {logs}") from None
                    time.sleep(0.2)
        yield ports
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def post(
    connection: http.client.HTTPConnection,
    key: str,
    query: str,
    variables: dict[str, Any],
    read_after: str | None = None,
) -> tuple[int, Any]:
    return post_full(connection, key, query, variables, read_after)[:2]


def post_full(
    connection: http.client.HTTPConnection,
    key: str,
    query: str,
    variables: dict[str, Any],
    read_after: str | None = None,
) -> tuple[int, Any, str | None]:
    """Status, JSON body and the ``Ledger-Read-After`` response header of one GraphQL POST."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    if read_after is not None:
        headers[READ_AFTER] = read_after
    connection.request("POST", "/graphql", json.dumps({"query": query, "variables": variables}), headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read()), response.getheader(READ_AFTER)


def error_code(body: Any) -> str:
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        return str((errors[0].get("extensions") or {}).get("code", "?"))
    return ""


def error_codes(body: Any) -> set[str]:
    """Every ``extensions.code`` in a body: top-level errors and any payload's ``errors { code }``."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            errors = value.get("errors")
            for error in errors if isinstance(errors, list) else ():
                if isinstance(error, dict):
                    code = (error.get("extensions") or {}).get("code") or error.get("code")
                    if code:
                        found.add(str(code))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(body)
    return found


def seed_accounts(port: int, api_key: str, count: int) -> list[str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    ids = []
    for index in range(count):
        for _ in range(5):  # a random CPF may repeat one digit or an earlier one: draw again
            document = valid_cpf(random.randrange(10**8, 10**9))
            status, body = post(connection, api_key, CREATE_ACCOUNT, {"name": f"HA {index}", "document": document})
            account = (body.get("data") or {}).get("createAccount", {}).get("account")
            if status == 200 and account is not None:
                ids.append(account["id"])
                break
        else:
            raise RuntimeError(f"createAccount failed: {status} {body}")
    return ids


def valid_cpf(base: int) -> str:
    """Nine digits and their two check digits (mod 11, weights 10..2 then 11..2)."""
    digits = [int(c) for c in f"{base:09d}"]
    for weights in (range(10, 1, -1), range(11, 1, -1)):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=False)) * 10 % 11
        digits.append(remainder % 10)
    return "".join(map(str, digits))


def decode_pk(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":", 1)[1])


class Load:
    """Client threads making transfers until stopped; each retries its transfer until acknowledged, then reads it back.

    ``read_back_every``: after every n-th acknowledged transfer its client reads it,
    sending the ``Ledger-Read-After`` token the mutation answered (0: never, for a
    pure write rate). ``expect_token``: every acknowledgement must carry that token
    (the app has a replica); one that does not is counted. ``send_token=False``
    reads back without it: the control that shows what the token is for.
    """

    def __init__(
        self,
        ports: list[int],
        api_key: str,
        accounts: list[str],
        clients: int,
        run_id: str,
        *,
        read_back_every: int = 4,
        expect_token: bool = False,
        send_token: bool = True,
    ) -> None:
        self.ports, self.api_key, self.accounts, self.run_id = ports, api_key, accounts, run_id
        self.read_back_every, self.expect_token, self.send_token = read_back_every, expect_token, send_token
        self.stop_event = threading.Event()
        self.stopped_at = 0.0
        self.lock = threading.Lock()
        self.acks: list[Ack] = []
        self.gave_up: list[str] = []
        self.rejected: list[tuple[str, Any]] = []
        self.failures: Counter[str] = Counter()
        self.unavailable = self.internal = self.other_5xx = self.connection_errors = 0
        self.internal_answers: list[tuple[float, int, Any]] = []  # the first few, for the report
        self.acks_without_token: list[str] = []
        self.reads = 0
        self.reads_missing: list[str] = []
        self.reads_unanswered: list[str] = []
        self.later_reads = 0
        self.later_reads_missing: list[str] = []
        self.threads = [threading.Thread(target=self.client, args=(i,), daemon=True) for i in range(clients)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self, timeout: float = 90) -> None:
        self.stopped_at = time.monotonic()
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=max(0.1, self.stopped_at + timeout - time.monotonic()))

    def give_up(self) -> bool:
        """An unacknowledged transfer is retried until 60 s after the load stopped: far past any failover."""
        return self.stop_event.is_set() and time.monotonic() > self.stopped_at + 60

    def client(self, index: int) -> None:
        rng = random.Random(f"{self.run_id}-{index}")
        connections = {port: http.client.HTTPConnection("127.0.0.1", port, timeout=15) for port in self.ports}
        sequence = 0
        while not self.stop_event.is_set():
            sequence += 1
            key = f"{self.run_id}-{index}-{sequence}"
            sender, receiver = rng.sample(self.accounts, 2)
            amount = f"{rng.randint(1, 500) / 100:.2f}"
            variables = {"a": sender, "b": receiver, "amount": amount, "key": key}
            ack = self.transfer(connections, index, key, variables, rng)
            if ack is not None and self.read_back_every and sequence % self.read_back_every == 0:
                self.read_back(connections, ack, rng)

    def call(
        self,
        connections: dict[int, http.client.HTTPConnection],
        port: int,
        query: str,
        variables: dict[str, Any],
        read_after: str | None = None,
    ) -> tuple[int, Any, str | None] | None:
        try:
            return post_full(connections[port], self.api_key, query, variables, read_after)
        except (OSError, http.client.HTTPException, ValueError) as error:
            connections[port].close()
            connections[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            with self.lock:
                self.connection_errors += 1
                self.failures[f"connection: {type(error).__name__}"] += 1
            return None

    def note(self, status: int, body: Any) -> set[str]:
        """Counts an answer that was not a success, by kind; returns its error codes."""
        codes = error_codes(body)
        with self.lock:
            self.failures[f"HTTP {status} {','.join(sorted(codes)) or '-'}"] += 1
            if "INTERNAL" in codes or status == 500:
                self.internal += 1
                if len(self.internal_answers) < 10:
                    self.internal_answers.append((time.monotonic(), status, body))
            elif status == 503 and "UNAVAILABLE" in codes:
                self.unavailable += 1
            elif status >= 500:
                self.other_5xx += 1
        return codes

    def transfer(
        self,
        connections: dict[int, http.client.HTTPConnection],
        index: int,
        key: str,
        variables: dict[str, Any],
        rng: random.Random,
    ) -> Ack | None:
        attempt = 0
        while True:
            attempt += 1
            port = self.ports[(index + attempt) % len(self.ports)]
            sent = time.monotonic()
            answer = self.call(connections, port, TRANSFER, variables)
            if answer is not None:
                status, body, header = answer
                payload = ((body.get("data") or {}) if isinstance(body, dict) else {}).get("createTransaction")
                if status == 200 and payload and payload.get("transaction"):
                    transaction = payload["transaction"]
                    token = (body.get("extensions") or {}).get("readAfter")
                    pk, acked = decode_pk(transaction["id"]), time.monotonic()
                    ack = Ack(key, pk, transaction["status"], sent, acked, attempt, port, header)
                    with self.lock:
                        self.acks.append(ack)
                        if self.expect_token and (header is None or header != token):
                            self.acks_without_token.append(key)
                    return ack
                codes = self.note(status, body)
                if status < 500 and not codes & RETRY_CODES:
                    with self.lock:
                        self.rejected.append((key, body))
                    return None
            if self.give_up():
                with self.lock:
                    self.gave_up.append(key)
                return None
            time.sleep(rng.uniform(0.02, 0.1))

    def read_back(
        self, connections: dict[int, http.client.HTTPConnection], ack: Ack, rng: random.Random, later: bool = False
    ) -> None:
        """The client reads its own acknowledged transfer with the token it was given: it must be there.

        Sent to the other app process than the one that acknowledged it, whose
        connections have seen nothing of that write. ``later``: a read after the
        failover (``read_again``), counted apart.
        """
        global_id = base64.b64encode(f"Transaction:{ack.pk}".encode()).decode()
        port = next((p for p in self.ports if p != ack.port), ack.port)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            token = ack.read_after if self.send_token else None
            answer = self.call(connections, port, READ_BACK, {"id": global_id}, token)
            if answer is not None:
                status, body, _ = answer
                if status == 200 and isinstance(body, dict) and not body.get("errors"):
                    found = body["data"]["transaction"]
                    missing = found is None or found.get("idempotencyKey") != ack.key
                    with self.lock:
                        if later:
                            self.later_reads += 1
                        else:
                            self.reads += 1
                        if missing:
                            (self.later_reads_missing if later else self.reads_missing).append(ack.key)
                    return
                self.note(status, body)
            time.sleep(rng.uniform(0.02, 0.1))
        with self.lock:
            self.reads_unanswered.append(ack.key)

    def read_again(self, killed_at: float, limit: int = 400, threads: int = 8) -> None:
        """After the load, clients read again what they were acknowledged before the kill, with its token.

        The transfers of the last 5 s before the kill (the ones a promoted standby
        would lack if commits did not wait for it; the newest if there are more than
        ``limit``), then others at random, up to ``limit``.
        """
        rng = random.Random(self.run_id)
        before = [ack for ack in self.acks if ack.acked < killed_at]
        recent = [ack for ack in before if ack.acked >= killed_at - 5][-limit:]
        older = [ack for ack in before if ack.acked < killed_at - 5]
        chosen = recent + rng.sample(older, min(len(older), limit - len(recent)))

        def reader(part: list[Ack]) -> None:
            connections = {port: http.client.HTTPConnection("127.0.0.1", port, timeout=15) for port in self.ports}
            for ack in part:
                self.read_back(connections, ack, rng, later=True)

        workers = [threading.Thread(target=reader, args=(chosen[i::threads],)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)


def check(result: Result, database: str, database_url: str, load: Load) -> None:
    """Compares what the clients were told with what the (new) primary holds."""
    with psycopg.connect(pair.pair_conninfo(database), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT idempotency_key, id, status FROM transactions_transaction WHERE idempotency_key LIKE %s",
            [f"{load.run_id}-%"],
        ).fetchall()
        total, negatives = conn.execute(
            "SELECT coalesce(sum(balance), 0), count(*) FILTER (WHERE kind <> 'SETTLEMENT' AND "
            "(balance < 0 OR balance - held < 0)) FROM accounts_account"
        ).fetchone() or (None, None)
    stored: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for key, pk, status in rows:
        stored[key].append((pk, status))
    acked_keys = {ack.key for ack in load.acks}
    result.acknowledged = len(load.acks)
    result.lost_keys = sorted(ack.key for ack in load.acks if not stored.get(ack.key))
    result.lost = len(result.lost_keys)
    result.duplicated = sum(1 for found in stored.values() if len(found) > 1) + (len(load.acks) - len(acked_keys))
    result.mismatched = sum(
        1 for ack in load.acks if stored.get(ack.key) and stored[ack.key][0] != (ack.pk, ack.status)
    )
    result.committed_unacknowledged = len(set(stored) - acked_keys)
    result.gave_up = len(load.gave_up)
    result.rejected = len(load.rejected)
    result.unavailable_503, result.internal = load.unavailable, load.internal
    result.other_5xx, result.connection_errors = load.other_5xx, load.connection_errors
    result.acks_without_token = len(load.acks_without_token)
    result.reads, result.reads_missing = load.reads, len(load.reads_missing)
    result.reads_unanswered = len(load.reads_unanswered)
    result.later_reads, result.later_reads_missing = load.later_reads, len(load.later_reads_missing)
    result.balance_sum, result.negative_balances = int(total), int(negatives)
    verify = manage(database_url, "verify_ledger", timeout=300)
    result.verify_ledger_exit = verify.returncode
    result.verify_ledger_output = (verify.stdout + verify.stderr)[-2000:]
    result.failed_attempts = dict(load.failures)


def measure(result: Result, load: Load, states: pair.StateLog, killed_at: float, started_at: float) -> None:
    acks = sorted(load.acks, key=lambda ack: ack.acked)
    after = [ack.acked for ack in acks if ack.sent >= killed_at]
    result.write_outage_s = round(after[0] - killed_at, 3) if after else None
    before = [ack for ack in acks if ack.acked < killed_at]
    result.throughput_before_kill = round(len(before) / max(0.001, killed_at - started_at), 1)
    times = [killed_at] + [ack.acked for ack in acks if ack.acked >= killed_at]
    result.longest_ack_gap_s = round(max(b - a for a, b in itertools.pairwise(times)), 3) if len(times) > 1 else None
    promoted = states.first(result.new_primary, ("wait_primary", "primary", "single"), killed_at)
    result.promotion_s = (
        round(promoted - killed_at, 3) if promoted and result.new_primary != result.old_primary else None
    )
    per_second: Counter[int] = Counter(
        int(ack.acked - killed_at) if ack.acked >= killed_at else -1 - int(killed_at - ack.acked) for ack in acks
    )
    result.acks_per_second = dict(sorted(per_second.items()))


def run_scenario(
    scenario: str,
    *,
    clients: int = 16,
    before: float = 8.0,
    after: float = 20.0,
    pause: float = 3.0,
    accounts: int = 200,
) -> Result:
    """One scenario from a healthy pair back to a healthy pair; the Result says what happened."""
    if scenario not in ("postmaster", "node", "control"):
        raise ValueError(f"unknown scenario {scenario!r}")
    LOGS.mkdir(parents=True, exist_ok=True)
    pair.ha("up")
    pair.wait_healthy()
    result = Result(scenario)
    database = f"ledger_ha_{scenario}"
    urls = pair.printed_urls(database)
    database_url, replica_url = urls["DATABASE_URL"], urls["DATABASE_REPLICA_URL"]
    if scenario == "control":  # the app's own sessions stop waiting for the standby
        database_url += "&options=-c%20synchronous_commit%3Dlocal"
    api_key = prepare(database, pair.pair_conninfo("postgres"), database_url)

    states = pair.StateLog()
    polling = threading.Event()

    def poll() -> None:
        while not polling.is_set():
            states.poll()
            time.sleep(0.1)

    poller = threading.Thread(target=poll, daemon=True)
    for old_log in LOGS.glob(f"{scenario}-app*.log"):
        old_log.unlink()
    with app_servers(database_url, 2, LOGS, replica_url, prefix=f"{scenario}-app") as ports:
        ids = seed_accounts(ports[0], api_key, accounts)
        run_id = f"{scenario}-{uuid.uuid4().hex[:8]}"
        load = Load(ports, api_key, ids, clients, run_id, read_back_every=1, expect_token=True)
        poller.start()
        old, standby = pair.primary(), pair.secondary()
        scans_at_start = pair.table_scans(standby, database, "transactions_transaction")
        started_at = time.monotonic()
        load.start()
        result.old_primary = old.name
        stopped: list[int] = []
        if scenario == "control":
            time.sleep(max(0.0, before - pause))
            stopped = pair.walsender_pids(old)
            for pid in stopped:
                os.kill(pid, signal.SIGSTOP)  # the standby receives nothing more
            time.sleep(pause)
        else:
            time.sleep(before)
        scans_at_kill = pair.table_scans(standby, database, "transactions_transaction")
        if scans_at_start is not None and scans_at_kill is not None:
            result.standby_scans_before_kill = scans_at_kill - scans_at_start
        killed_at = time.monotonic()
        if scenario == "postmaster":
            pair.kill_postmaster(old)
        else:
            pair.kill_node(old, also=stopped)
        time.sleep(after)
        load.stop()
        load.read_again(killed_at)
    polling.set()
    poller.join(timeout=5)
    with psycopg.connect(pair.pair_conninfo("postgres"), autocommit=True) as conn:
        new_port = conn.info.port
    result.new_primary = next((node.name for node in pair.nodes() if node.port == new_port), str(new_port))
    measure(result, load, states, killed_at, started_at)
    check(result, database, database_url, load)
    result.internal_answers = [
        f"{when - killed_at:+.2f} s after the kill: HTTP {status} {json.dumps(body)[:400]}"
        for when, status, body in load.internal_answers
    ]
    (LOGS / f"{scenario}-states.json").write_text(json.dumps(states.changes, indent=1))
    (LOGS / f"{scenario}.json").write_text(json.dumps(asdict(result), indent=1))
    pair.ha("up")  # restarts a killed node's keeper; the old primary rejoins as secondary
    pair.wait_healthy()
    return result


@dataclass
class ReadCheck:
    """Read-backs of a client's own acknowledged transfers while the standby's replay stutters."""

    send_token: bool
    acknowledged: int
    reads: int
    reads_missing: int
    reads_unanswered: int
    standby_scans: int | None


@contextmanager
def stuttering_replay(node: pair.Node, paused: float = 0.4, running: float = 0.3) -> Iterator[None]:
    """The standby stops replaying for ``paused`` of every ``paused + running`` seconds.

    It still receives and flushes WAL, so synchronous commits go on; a pause
    shorter than ``LEDGER_REPLICA_MAX_LAG_MS`` keeps it serving token-less
    reads, which then miss what was just committed.
    """
    stop = threading.Event()

    def stutter() -> None:
        with psycopg.connect(pair.conninfo(node.port), autocommit=True) as conn:
            try:
                while not stop.is_set():
                    conn.execute("SELECT pg_wal_replay_pause()")
                    stop.wait(paused)
                    conn.execute("SELECT pg_wal_replay_resume()")
                    stop.wait(running)
            finally:
                conn.execute("SELECT pg_wal_replay_resume()")

    thread = threading.Thread(target=stutter, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def read_your_writes(*, clients: int = 16, seconds: float = 15.0, accounts: int = 200) -> list[ReadCheck]:
    """No kill: each acknowledged transfer read back at once, without then with its token, replay stuttering.

    Without the token the standby serves reads it has not replayed up to, and
    clients miss their own writes: the check on ``reads_missing`` can fail.
    With it, the app waits for the replay or reads the primary: none missing.
    """
    pair.ha("up")
    pair.wait_healthy()
    database = "ledger_ha_read_your_writes"
    urls = pair.printed_urls(database)
    api_key = prepare(database, pair.pair_conninfo("postgres"), urls["DATABASE_URL"])
    checks = []
    with app_servers(urls["DATABASE_URL"], 2, LOGS, urls["DATABASE_REPLICA_URL"], prefix="reads-app") as ports:
        ids = seed_accounts(ports[0], api_key, accounts)
        for send_token in (False, True):
            standby = pair.secondary()
            before = pair.table_scans(standby, database, "transactions_transaction")
            load = Load(ports, api_key, ids, clients, f"reads-{send_token}", read_back_every=1, send_token=send_token)
            with stuttering_replay(standby):
                load.start()
                time.sleep(seconds)
                load.stop()
            after = pair.table_scans(standby, database, "transactions_transaction")
            scans = after - before if before is not None and after is not None else None
            checks.append(
                ReadCheck(
                    send_token, len(load.acks), load.reads, len(load.reads_missing), len(load.reads_unanswered), scans
                )
            )
    with psycopg.connect(pair.pair_conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return checks


SINGLE_NODE = os.environ.get("LEDGER_HA_SINGLE_NODE", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")


def target_urls(target: str, database: str) -> tuple[str, str, str | None]:
    """(maintenance conninfo, DATABASE_URL, DATABASE_REPLICA_URL) of "single" or "pair" (with its replica)."""
    if target == "pair":
        pair.ha("up")
        pair.wait_healthy()
        urls = pair.printed_urls(database)
        return pair.pair_conninfo("postgres"), urls["DATABASE_URL"], urls["DATABASE_REPLICA_URL"]
    params = psycopg.conninfo.conninfo_to_dict(SINGLE_NODE)
    return SINGLE_NODE, f"postgres://{params['user']}@{params['host']}:{params['port']}/{database}", None


def throughput(target: str, *, clients: int = 16, seconds: float = 20.0, accounts: int = 200) -> float:
    """Acknowledged single transfers/s over HTTP, no kill, no reads: on the pair ("pair") or one plain server."""
    database = f"ledger_ha_throughput_{target}"
    server, database_url, replica_url = target_urls(target, database)
    api_key = prepare(database, server, database_url)
    with app_servers(database_url, 2, LOGS, replica_url) as ports:
        ids = seed_accounts(ports[0], api_key, accounts)
        load = Load(ports, api_key, ids, clients, f"throughput-{target}", read_back_every=0)
        load.start()
        time.sleep(2)  # warm: connections open, caches full
        counted_from, already = time.monotonic(), len(load.acks)
        time.sleep(seconds)
        rate = (len(load.acks) - already) / (time.monotonic() - counted_from)
        load.stop()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return rate


@dataclass
class PageRate:
    reads_on: str  # "standby" (DATABASE_REPLICA_URL set) or "primary" (not set)
    requests_per_s: float
    answered: int
    failed: int  # answers that were not a full 50-row page
    standby_scans: int | None  # scans of the transactions table the standby itself ran during the run


def page_rate(ports: list[int], api_key: str, clients: int, seconds: float) -> tuple[float, int, int]:
    """Full 50-row pages/s from ``clients`` threads (keep-alive, no token), after a 2 s warm-up."""
    stop, lock = threading.Event(), threading.Lock()
    counts = {"ok": 0, "failed": 0, "counting": 0}

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", ports[index % len(ports)], timeout=15)
        while not stop.is_set():
            try:
                status, body = post(connection, api_key, PAGE, {})
                full = status == 200 and len(body["data"]["transactions"]["edges"]) == 50
            except (OSError, http.client.HTTPException, ValueError, KeyError, TypeError):
                connection.close()
                full = False
            with lock:
                if counts["counting"]:
                    counts["ok" if full else "failed"] += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    with lock:
        counts["counting"], counted_from = 1, time.monotonic()
    time.sleep(seconds)
    with lock:
        counts["counting"], elapsed = 0, time.monotonic() - counted_from
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    return counts["ok"] / elapsed, counts["ok"], counts["failed"]


def page_throughput(
    *, clients: int = 16, seconds: float = 20.0, rounds: int = 2, accounts: int = 200
) -> list[PageRate]:
    """The 50-row transactions page on the pair, queries on the standby vs on the primary only, alternating.

    The same database and load each time; only ``DATABASE_REPLICA_URL`` differs.
    The standby's own scan count (read after the app processes exit, which
    flushes their statistics) shows where the pages were served.
    """
    database = "ledger_ha_pages"
    server, database_url, replica_url = target_urls("pair", database)
    api_key = prepare(database, server, database_url)
    with app_servers(database_url, 1, LOGS) as ports:
        seed_accounts(ports[0], api_key, accounts)  # each opening balance is a transaction: 200 rows
    rates = []
    for _ in range(rounds):
        for reads_on in ("primary", "standby"):
            standby = pair.secondary()
            before = pair.table_scans(standby, database, "transactions_transaction")
            with app_servers(database_url, 2, LOGS, replica_url if reads_on == "standby" else None) as ports:
                rate, answered, failed = page_rate(ports, api_key, clients, seconds)
            time.sleep(1)
            after = pair.table_scans(standby, database, "transactions_transaction")
            scans = after - before if before is not None and after is not None else None
            rates.append(PageRate(reads_on, round(rate, 1), answered, failed, scans))
            print(f"50-row page, reads on the {reads_on}: {rate:.1f} requests/s ({scans} standby scans)", flush=True)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return rates


def summary(result: Result) -> str:
    return (
        f"{result.scenario:>10}: {result.old_primary} -> {result.new_primary}; "
        f"write outage {result.write_outage_s} s (promotion {result.promotion_s} s, longest gap "
        f"{result.longest_ack_gap_s} s); acknowledged {result.acknowledged}, lost {result.lost}, "
        f"duplicated {result.duplicated}, mismatched {result.mismatched}; reads with token {result.reads}, "
        f"missing {result.reads_missing}, unanswered {result.reads_unanswered}; reads after the failover "
        f"{result.later_reads}, missing {result.later_reads_missing}; standby scans before the "
        f"kill {result.standby_scans_before_kill}; answers 503 UNAVAILABLE {result.unavailable_503}, INTERNAL "
        f"{result.internal}, other 5xx {result.other_5xx}, connection errors {result.connection_errors}; acks "
        f"without token {result.acks_without_token}; gave up {result.gave_up}, committed unacknowledged "
        f"{result.committed_unacknowledged}; sum {result.balance_sum}, negative {result.negative_balances}, "
        f"verify_ledger exit {result.verify_ledger_exit}; {result.throughput_before_kill} transfers/s before the kill"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="all", choices=["postmaster", "node", "control", "all"])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--before", type=float, default=8.0)
    parser.add_argument("--after", type=float, default=20.0)
    parser.add_argument("--pause", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2, help="--throughput: alternating rounds of each measure")
    parser.add_argument("--json", type=Path, default=LOGS / "results.json")
    parser.add_argument(
        "--throughput",
        action="store_true",
        help="instead, no kill: single transfers on one server vs the pair; a 50-row page, standby vs primary",
    )
    parser.add_argument(
        "--read-your-writes",
        action="store_true",
        help="instead, no kill: read-backs with and without the token while the standby's replay stutters",
    )
    args = parser.parse_args()
    if args.read_your_writes:
        for read_check in read_your_writes(clients=args.clients, seconds=args.after):
            print(read_check, flush=True)
        return 0
    if args.throughput:
        transfers: dict[str, list[float]] = {"single": [], "pair": []}
        for _ in range(args.rounds):
            for target in ("single", "pair"):
                transfers[target].append(round(throughput(target, clients=args.clients, seconds=args.after), 1))
                print(f"transfers/s over HTTP on {target}: {transfers[target][-1]}", flush=True)
        pages = page_throughput(clients=args.clients, seconds=args.after, rounds=args.rounds)
        single, on_pair = (statistics.median(transfers[target]) for target in ("single", "pair"))
        primary, standby = (
            statistics.median(rate.requests_per_s for rate in pages if rate.reads_on == on)
            for on in ("primary", "standby")
        )
        print(
            f"single transfers/s over HTTP, {args.clients} clients (median of {args.rounds}): single node "
            f"{single:.1f}, pair {on_pair:.1f}, ratio {on_pair / single:.2f}\n"
            f"50-row page requests/s, {args.clients} clients (median of {args.rounds}): primary only "
            f"{primary:.1f}, standby {standby:.1f}, ratio {standby / primary:.2f}"
        )
        out = args.json.with_name("throughput.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"transfers": transfers, "pages": [asdict(rate) for rate in pages]}, indent=1))
        return 0
    scenarios = ["postmaster", "node", "control"] if args.scenario == "all" else [args.scenario]
    results = []
    for scenario in scenarios:
        result = run_scenario(scenario, clients=args.clients, before=args.before, after=args.after, pause=args.pause)
        print(summary(result), flush=True)
        results.append(result)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps([asdict(result) for result in results], indent=1))
    healthy = all(result.ok() for result in results if result.scenario != "control")
    caught = all(result.lost > 0 for result in results if result.scenario == "control")
    return 0 if healthy and caught else 1


if __name__ == "__main__":
    sys.exit(main())
