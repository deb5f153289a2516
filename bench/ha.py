"""The bank test that kills the primary: money keeps its shape through a failover.

    python -m bench.ha [--scenario postmaster|node|control|all] [--clients 16] [--before 8] [--after 20]

On the pair of ``make ha-up`` (deploy/ha/README.md), per scenario: a fresh database
migrated through the multi-host URL; two gunicorn processes on it; accounts; then
16 client threads making PIX transfers over HTTP, each with its own idempotency
key, retried with the same key on a connection error, a 5xx or a top-level
INTERNAL/UNAVAILABLE error (safe: a key that committed returns its transaction)
until acknowledged. Every fourth acknowledged transfer is read back. After
``--before`` seconds the primary is killed, the load runs ``--after`` more seconds,
then the checks run on whichever node is primary now:

- every acknowledged transfer exists exactly once, with the ID and status the client saw;
- no client read its own acknowledged transfer as missing;
- the balances sum to 0 and no customer balance (nor available balance) is negative;
- ``manage.py verify_ledger`` exits 0;
- the write outage: from the kill to the first acknowledgement of a request sent after it.

Scenarios: ``postmaster`` SIGKILLs the primary's postmaster (PostgreSQL crashes, its
keeper lives); ``node`` SIGKILLs the keeper and the postmaster at once (the machine
dies); ``control`` is ``node`` with the app's sessions at ``synchronous_commit =
local`` and replication paused (the primary's walsender SIGSTOPped) for the last
``--pause`` seconds before the kill: the checks must then find lost transfers,
which shows that they can fail. The pair is healed (``ha.sh up``) after each one.
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
RETRY_CODES = {"INTERNAL", "UNAVAILABLE"}

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


@dataclass
class Ack:
    key: str
    pk: int
    status: str
    sent: float  # when the acknowledged attempt was sent (monotonic)
    acked: float
    attempts: int


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
    reads: int = 0
    reads_missing: int = 0
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
    verify_ledger_output: str = ""

    def ok(self) -> bool:
        """What a failover must keep: nothing lost, duplicated or misread; the ledger whole."""
        return (
            self.acknowledged > 0
            and self.lost == self.duplicated == self.mismatched == self.reads_missing == 0
            and self.rejected == self.gave_up == 0
            and self.balance_sum == 0
            and self.negative_balances == 0
            and self.verify_ledger_exit == 0
            and self.write_outage_s is not None
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "GUNICORN_", "PROMETHEUS_"))}
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
def app_servers(database_url: str, count: int, logs: Path) -> Iterator[list[int]]:
    """``count`` gunicorn processes (2 workers x 4 threads each) on free loopback ports."""
    gunicorn = str(Path(PYTHON).parent / "gunicorn")
    processes: list[subprocess.Popen[bytes]] = []
    ports = [free_port() for _ in range(count)]
    try:
        for index, port in enumerate(ports):
            env = {**app_env(database_url), "GUNICORN_BIND": f"127.0.0.1:{port}"}
            log = (logs / f"app{index + 1}.log").open("ab")
            processes.append(
                subprocess.Popen(
                    [gunicorn, "-c", "gunicorn.conf.py", "ledger_project.wsgi"],
                    cwd=ROOT,
                    env=env,
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


def post(connection: http.client.HTTPConnection, key: str, query: str, variables: dict[str, Any]) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    connection.request("POST", "/graphql", json.dumps({"query": query, "variables": variables}), headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def error_code(body: Any) -> str:
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        return str((errors[0].get("extensions") or {}).get("code", "?"))
    return ""


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
    """Client threads making transfers until stopped; each retries its transfer until acknowledged."""

    def __init__(self, ports: list[int], api_key: str, accounts: list[str], clients: int, run_id: str) -> None:
        self.ports, self.api_key, self.accounts, self.run_id = ports, api_key, accounts, run_id
        self.stop_event = threading.Event()
        self.stopped_at = 0.0
        self.lock = threading.Lock()
        self.acks: list[Ack] = []
        self.gave_up: list[str] = []
        self.rejected: list[tuple[str, Any]] = []
        self.failures: Counter[str] = Counter()
        self.reads = 0
        self.reads_missing: list[str] = []
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
            if ack is not None and sequence % 4 == 0:
                self.read_back(connections, index, ack, rng)

    def call(
        self, connections: dict[int, http.client.HTTPConnection], port: int, query: str, variables: dict[str, Any]
    ) -> tuple[int, Any] | None:
        try:
            return post(connections[port], self.api_key, query, variables)
        except (OSError, http.client.HTTPException, ValueError) as error:
            connections[port].close()
            connections[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            with self.lock:
                self.failures[f"connection: {type(error).__name__}"] += 1
            return None

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
                status, body = answer
                payload = ((body.get("data") or {}) if isinstance(body, dict) else {}).get("createTransaction")
                if status == 200 and payload and payload.get("transaction"):
                    transaction = payload["transaction"]
                    ack = Ack(key, decode_pk(transaction["id"]), transaction["status"], sent, time.monotonic(), attempt)
                    with self.lock:
                        self.acks.append(ack)
                    return ack
                code = error_code(body)
                with self.lock:
                    self.failures[f"HTTP {status} {code or (payload or {}).get('errors')}"] += 1
                if status < 500 and code not in RETRY_CODES:
                    with self.lock:
                        self.rejected.append((key, body))
                    return None
            if self.give_up():
                with self.lock:
                    self.gave_up.append(key)
                return None
            time.sleep(rng.uniform(0.02, 0.1))

    def read_back(
        self, connections: dict[int, http.client.HTTPConnection], index: int, ack: Ack, rng: random.Random
    ) -> None:
        """The client reads its own acknowledged transfer: after a failover it must still be there."""
        global_id = base64.b64encode(f"Transaction:{ack.pk}".encode()).decode()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            port = self.ports[(index + 1) % len(self.ports)]  # the other process than the write's, often
            answer = self.call(connections, port, READ_BACK, {"id": global_id})
            if answer is not None and answer[0] == 200 and "errors" not in answer[1]:
                with self.lock:
                    self.reads += 1
                    if answer[1]["data"]["transaction"] is None:
                        self.reads_missing.append(ack.key)
                return
            time.sleep(rng.uniform(0.02, 0.1))


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
    result.reads, result.reads_missing = load.reads, len(load.reads_missing)
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
    extra = "&options=-c%20synchronous_commit%3Dlocal" if scenario == "control" else ""
    database_url = pair.pair_url(database, extra=extra)
    api_key = prepare(database, pair.pair_conninfo("postgres"), database_url)

    states = pair.StateLog()
    polling = threading.Event()

    def poll() -> None:
        while not polling.is_set():
            states.poll()
            time.sleep(0.1)

    poller = threading.Thread(target=poll, daemon=True)
    with app_servers(database_url, 2, LOGS) as ports:
        ids = seed_accounts(ports[0], api_key, accounts)
        load = Load(ports, api_key, ids, clients, f"{scenario}-{uuid.uuid4().hex[:8]}")
        poller.start()
        started_at = time.monotonic()
        load.start()
        old = pair.primary()
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
        killed_at = time.monotonic()
        if scenario == "postmaster":
            pair.kill_postmaster(old)
        else:
            pair.kill_node(old, also=stopped)
        time.sleep(after)
        load.stop()
    polling.set()
    poller.join(timeout=5)
    with psycopg.connect(pair.pair_conninfo("postgres"), autocommit=True) as conn:
        new_port = conn.info.port
    result.new_primary = next((node.name for node in pair.nodes() if node.port == new_port), str(new_port))
    measure(result, load, states, killed_at, started_at)
    check(result, database, database_url, load)
    (LOGS / f"{scenario}-states.json").write_text(json.dumps(states.changes, indent=1))
    (LOGS / f"{scenario}.json").write_text(json.dumps(asdict(result), indent=1))
    pair.ha("up")  # restarts a killed node's keeper; the old primary rejoins as secondary
    pair.wait_healthy()
    return result


SINGLE_NODE = os.environ.get("LEDGER_HA_SINGLE_NODE", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")


def throughput(target: str, *, clients: int = 16, seconds: float = 20.0, accounts: int = 200) -> float:
    """Acknowledged transfers/s of the same load, no kill: on the pair ("pair") or one plain server ("single")."""
    database = f"ledger_ha_throughput_{target}"
    if target == "pair":
        pair.ha("up")
        pair.wait_healthy()
        server, database_url = pair.pair_conninfo("postgres"), pair.pair_url(database)
    else:
        params = psycopg.conninfo.conninfo_to_dict(SINGLE_NODE)
        server = SINGLE_NODE
        database_url = f"postgres://{params['user']}@{params['host']}:{params['port']}/{database}"
    api_key = prepare(database, server, database_url)
    with app_servers(database_url, 2, LOGS) as ports:
        ids = seed_accounts(ports[0], api_key, accounts)
        load = Load(ports, api_key, ids, clients, f"throughput-{target}")
        load.start()
        time.sleep(2)  # warm: connections open, caches full
        counted_from, already = time.monotonic(), len(load.acks)
        time.sleep(seconds)
        rate = (len(load.acks) - already) / (time.monotonic() - counted_from)
        load.stop()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    return rate


def summary(result: Result) -> str:
    return (
        f"{result.scenario:>10}: {result.old_primary} -> {result.new_primary}; "
        f"write outage {result.write_outage_s} s (promotion {result.promotion_s} s, longest gap "
        f"{result.longest_ack_gap_s} s); acknowledged {result.acknowledged}, lost {result.lost}, "
        f"duplicated {result.duplicated}, mismatched {result.mismatched}, read missing {result.reads_missing}/"
        f"{result.reads}, gave up {result.gave_up}, committed unacknowledged {result.committed_unacknowledged}; "
        f"sum {result.balance_sum}, negative {result.negative_balances}, verify_ledger exit "
        f"{result.verify_ledger_exit}; {result.throughput_before_kill} transfers/s before the kill"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="all", choices=["postmaster", "node", "control", "all"])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--before", type=float, default=8.0)
    parser.add_argument("--after", type=float, default=20.0)
    parser.add_argument("--pause", type=float, default=3.0)
    parser.add_argument("--json", type=Path, default=LOGS / "results.json")
    parser.add_argument(
        "--throughput", action="store_true", help="instead: the same load, no kill, on the pair and on one server"
    )
    args = parser.parse_args()
    if args.throughput:
        single = throughput("single", clients=args.clients, seconds=args.after)
        on_pair = throughput("pair", clients=args.clients, seconds=args.after)
        print(
            f"transfers/s over HTTP, {args.clients} clients: single node {single:.1f}, pair {on_pair:.1f}, "
            f"ratio {on_pair / single:.2f}"
        )
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
