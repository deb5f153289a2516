"""Sharded counters: concurrent writer threads land on different slots (rows), not all on one."""

from __future__ import annotations

import threading

from core.counters import SLOTS, counter_slot


def test_concurrent_threads_take_different_slots() -> None:
    threads = 8
    barrier = threading.Barrier(threads)  # all alive at once: distinct kernel thread ids
    slots: list[int] = []

    def work() -> None:
        barrier.wait()
        slots.append(counter_slot())

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert all(0 <= slot < SLOTS for slot in slots)
    assert len(set(slots)) > 1, slots  # threading.get_ident() % 16 gave [0] * 8 on Linux
