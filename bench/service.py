"""Service-level benchmark, in one process: the money path without HTTP.

Run by ``bench.run`` after Django is set up against the bench database.
"""

from __future__ import annotations

import random
import threading
import time

from django.db import connection

from accounts.services import account_create
from bench.harness import Measurement
from core.documents import cpf_check_digits
from transactions.services import TransferSpec, transfer_batch_create, transfer_create


def open_accounts(count: int, balance: int = 10**11) -> list[int]:
    """Funded accounts with documents no other run uses."""
    pks = []
    for i in range(count):
        nine = f"{700_000_000 + i:09d}"
        pks.append(
            account_create(name=f"Bench {i}", document=nine + cpf_check_digits(nine), initial_balance=balance).pk
        )
    return pks


def singles(accounts: list[int], threads: int, per_thread: int, hot_share: float = 0.0) -> Measurement:
    """Single PIX transfers; each thread owns its accounts unless a hot sender is shared."""
    hot = accounts[0]
    pool = accounts[1:]
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def work(index: int) -> None:
        nonlocal errors
        rng = random.Random(index)
        mine = pool[index::threads]
        local: list[float] = []
        failures = 0
        barrier.wait()
        try:
            for _ in range(per_thread):
                sender, receiver = rng.sample(mine, 2)
                if hot_share and rng.random() < hot_share:
                    sender = hot
                started = time.perf_counter()
                try:
                    result = transfer_create(spec=TransferSpec(sender, receiver, 1, "PIX"))
                    if result.error is not None:
                        failures += 1
                except Exception:
                    failures += 1
                local.append(time.perf_counter() - started)
        finally:
            connection.close()
            with lock:
                latencies.extend(local)
                errors += failures

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    label = f"single transfers, {threads} thread(s)" + (
        f", {int(hot_share * 100)}% from one hot account" if hot_share else ", distinct accounts"
    )
    return Measurement(label, threads * per_thread, elapsed, latencies, "transfers/s", errors)


def batches(accounts: list[int], size: int, count: int) -> Measurement:
    rng = random.Random(size)
    latencies = []
    errors = 0
    started = time.perf_counter()
    for _ in range(count):
        specs = []
        for _ in range(size):
            sender, receiver = rng.sample(accounts, 2)
            specs.append(TransferSpec(sender, receiver, 1, "PIX"))
        t0 = time.perf_counter()
        results = transfer_batch_create(specs=specs)
        latencies.append(time.perf_counter() - t0)
        errors += sum(1 for r in results if r.error is not None)
    elapsed = time.perf_counter() - started
    return Measurement(
        f"batch of {size} (transfer_batch_create)", size * count, elapsed, latencies, "transfers/s", errors
    )


def grow_ledger(accounts: list[int], target: int) -> int:
    """Adds transfers through the batch service until the ledger holds ``target`` transactions."""
    from core.counters import TRANSACTIONS, counter_total

    rng = random.Random(target)
    while (current := counter_total(TRANSACTIONS)) < target:
        size = min(1000, target - current)
        specs = []
        for _ in range(size):
            sender, receiver = rng.sample(accounts, 2)
            specs.append(TransferSpec(sender, receiver, 1, "PIX"))
        transfer_batch_create(specs=specs)
    return counter_total(TRANSACTIONS)


def quiesce() -> None:
    """After a million-row seed: statistics fresh, visibility map set, dirty pages flushed.

    Without it the next reads run beside autovacuum and a checkpoint that the
    seed triggered, and the first read measured pays for them (last session's
    deep page: 46.7 vs 34.8 ms p50, with the same plan and 0.4 vs 0.3 ms of SQL).
    """
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
        cursor.execute("CHECKPOINT")


def cursor_near_end() -> str:
    """The cursor 60 rows before the end of the default transactions order."""
    from core.graphql.connection import encode_cursor
    from transactions.models import Transaction
    from transactions.schema import transaction_ordering

    ordering = transaction_ordering(None)
    row = Transaction.objects.order_by("-created_at", "-pk")[60]
    return encode_cursor(ordering, ordering.values(row))
