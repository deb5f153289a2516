"""Prometheus series of the ledger, declared once.

The exposition endpoint is ``/metrics`` (ledger_project.views); under gunicorn
with several workers prometheus_client's multiprocess mode aggregates them
(PROMETHEUS_MULTIPROC_DIR).
"""

from __future__ import annotations

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
