"""Prometheus series of the ledger, declared once, and the bounded labels they take.

The exposition endpoint is ``/metrics`` (ledger_project.metrics); under gunicorn
with several workers prometheus_client's multiprocess mode aggregates them
(PROMETHEUS_MULTIPROC_DIR).
"""

from __future__ import annotations

import re

from prometheus_client import Counter, Histogram

TRANSFERS = Counter(
    "ledger_transfers_total",
    "Money operations by transaction type and outcome (COMPLETED, PENDING, FAILED, REJECTED).",
    ["type", "outcome"],
)
RETRIES = Counter(
    "ledger_db_retries_total",
    "Database transactions retried after a serialization failure or deadlock.",
    ["operation"],
)
SETTLED = Counter("ledger_settled_total", "PENDING transactions settled by the worker.")
REQUEST_LATENCY = Histogram(
    "ledger_graphql_request_seconds",
    "GraphQL request latency by operation type and name.",
    ["operation_type", "operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class OperationNames:
    """Bounded label values for the latency histogram: short identifiers, at most ``limit`` distinct.

    Operation names are the client's text: unbounded, they would grow a series
    per name sent and exhaust the scraper's memory.
    """

    pattern = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

    def __init__(self, limit: int = 200) -> None:
        self.limit, self.seen = limit, set[str]()

    def label(self, name: str | None) -> str:
        if not name or not self.pattern.match(name):
            return "anonymous"
        if name not in self.seen:
            if len(self.seen) >= self.limit:
                return "other"
            self.seen.add(name)
        return name


OPERATION_NAMES = OperationNames()


def observe_graphql_request(operation_type: str, operation_name: str | None, seconds: float) -> None:
    """One GraphQL request's latency, its name capped by ``OPERATION_NAMES``."""
    REQUEST_LATENCY.labels(operation_type, OPERATION_NAMES.label(operation_name)).observe(seconds)
