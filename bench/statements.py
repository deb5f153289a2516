"""SQL statements per request: the benchmark's guardrail, counted the same way by ``make bench`` and CI.

A request goes through the whole Django stack (middleware, API-key
authentication, the GraphQL view) with the test client, and every statement
the database is sent is counted: Django's query log sees ``execute``, and
``COPY`` (which the writer streams through psycopg directly) is counted by
wrapping psycopg's ``Cursor.copy`` for the duration. Django logs ``BEGIN`` and
``COMMIT`` too; ``BEGIN`` is left out of the count (psycopg sends it before
the first statement of every transaction, as pgbench's does), ``COMMIT`` is in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.http import BATCH, PAGE, STATEMENT, TRANSFER


@dataclass
class Counted:
    """What one request sent: the SQL Django logged (``BEGIN`` and ``COMMIT`` included) and the COPYs."""

    sql: list[str] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)

    @property
    def statements(self) -> int:
        return len([sql for sql in self.sql if sql != "BEGIN"]) + len(self.copies)

    def __str__(self) -> str:
        return "\n".join(sql[:100] for sql in self.sql + self.copies)


@contextmanager
def counting() -> Iterator[Counted]:
    """Counts every statement sent on the default connection inside the block."""
    import psycopg

    counted = Counted()
    original_copy = psycopg.Cursor.copy

    def copy(self: Any, statement: Any, *args: Any, **kwargs: Any) -> Any:
        counted.copies.append(str(statement))
        return original_copy(self, statement, *args, **kwargs)

    psycopg.Cursor.copy = copy  # type: ignore[method-assign]
    try:
        with CaptureQueriesContext(connection) as captured:
            yield counted
    finally:
        psycopg.Cursor.copy = original_copy  # type: ignore[method-assign]
    counted.sql = [str(query["sql"]) for query in captured.captured_queries]


def post(token: str, query: str, variables: dict[str, Any]) -> tuple[Counted, dict[str, Any]]:
    """One GraphQL POST with a bearer key, through every middleware; refused requests raise (they count 0)."""
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    with counting() as counted:
        response = client.post(
            "/graphql", json.dumps({"query": query, "variables": variables}), content_type="application/json"
        )
    body = response.json()
    if response.status_code != 200 or "errors" in body:
        raise RuntimeError(f"{response.status_code} {body}")
    return counted, body["data"]


def batch_items(ids: list[str], size: int) -> list[dict[str, str]]:
    """``size`` transfers around the ring of ``ids``, one centavo each."""
    return [
        {
            "senderAccount": ids[i % len(ids)],
            "receiverAccount": ids[(i + 1) % len(ids)],
            "amount": "0.01",
            "type": "PIX",
        }
        for i in range(size)
    ]


def warm(token: str) -> None:
    """Until a request costs what it will cost in a running server: once per connection (``statement_timeout``)
    and once per process (the key cache's listener, then the key's first lookup) are not a request's."""
    deadline = time.monotonic() + 10
    while post(token, PAGE, {"after": None})[0].statements != 1:
        if time.monotonic() > deadline:
            raise RuntimeError("the API key cache never came up")
        time.sleep(0.05)


def per_operation(token: str, ids: list[str]) -> dict[str, int]:
    """Statements of a transfer, a batch of 100, a 50-row page and a statement page (run after 50 transfers)."""
    warm(token)
    return {
        "createTransaction": post(token, TRANSFER, {"a": ids[0], "b": ids[1]})[0].statements,
        "createTransactions of 100": post(token, BATCH, {"items": batch_items(ids, 100)})[0].statements,
        "transactions(first: 50) with sender/receiver": post(token, PAGE, {"after": None})[0].statements,
        "account.entries(first: 50)": post(token, STATEMENT, {"id": ids[1]})[0].statements,
    }
