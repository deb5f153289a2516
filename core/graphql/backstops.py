"""What holds whatever the cost estimate says (docs/HTTP.md, Cost limits): three backstops.

- PostgreSQL's ``statement_timeout`` on the request's statements
  (``bound_statements``); a cancelled one answers QUERY_TOO_COMPLEX
  (``core.graphql.errors.statement_timeout_error``).
- A wall-clock budget per request (``RequestBudget``), checked by
  ``core.graphql.execution`` before every field starts.
- A response size budget for queries (``within_response_budget``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from weakref import WeakKeyDictionary

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from graphql import FieldNode, GraphQLError, OperationType
from graphql.pyutils import Path

from core.db import bound_this_transaction, transactions_bounded
from core.graphql.errors import QUERY_TOO_COMPLEX

# The statement_timeout each raw connection holds, set by this process; absent: the server's default.
_statement_timeouts: WeakKeyDictionary[Any, int] = WeakKeyDictionary()


def bound_statements(timeout_ms: int, using: str = DEFAULT_DB_ALIAS) -> None:
    """Sets PostgreSQL's ``statement_timeout`` for the request's statements on this thread's connection.

    Every request of the web process wants the same value, so it is set once
    per connection (``SET`` outside a transaction lasts for the session, over
    persistent connections) and again only when it changed. Inside a
    transaction (tests run in one) a rollback would undo it: it is set each
    time. A cancelled statement raises SQLSTATE 57014; a mutation's
    ``atomic`` block rolls back whole, so nothing of it is kept.
    """
    connection = connections[using]  # the primary, or the standby a query reads from
    if connection.vendor != "postgresql":
        return
    wanted = max(timeout_ms, 0)
    connection.ensure_connection()
    raw = connection.connection
    if not connection.in_atomic_block and _statement_timeouts.get(raw, 0) == wanted:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{wanted}ms"])
    if not connection.in_atomic_block:
        _statement_timeouts[raw] = wanted


@contextmanager
def statements_bounded(timeout_ms: int, using: str = DEFAULT_DB_ALIAS, *, reads: bool) -> Iterator[None]:
    """The request's statements on ``using`` run under ``timeout_ms`` within the block.

    On a direct connection that is ``bound_statements``: a session setting,
    kept across requests. Behind a transaction-mode pooler (DATABASE_POOLER) a
    session setting would reach other clients of the pool, so it is scoped to
    transactions instead: a query's reads (``reads``) run in one transaction
    opened here, which also gives them one snapshot; a mutation's services set
    it at the start of each attempt (``core.db.retrying_atomic``).
    """
    if not settings.DATABASE_POOLER or connections[using].vendor != "postgresql":
        bound_statements(timeout_ms, using)
        yield
        return
    with transactions_bounded(timeout_ms):
        if not reads:
            yield
            return
        with transaction.atomic(using=using):
            bound_this_transaction(using)
            yield


# --- the wall-clock budget --------------------------------------------------------------------


class BudgetExceeded(GraphQLError):
    """A field not started because the request's wall-clock budget was spent."""


class RequestBudget:
    """The wall-clock budget of one request, checked before each field starts (``LedgerExecutionContext``).

    A field that would start past the deadline answers QUERY_TOO_COMPLEX at its
    path instead of running; what is already resolved stays. In a mutation
    only the mutation fields are checked: once a service has moved money, its
    payload is completed whatever the clock says, so the client learns what
    happened (the payload is bounded by the estimate).
    """

    def __init__(self, started: float, budget_ms: int, operation: OperationType) -> None:
        self.deadline, self.budget_ms = started + budget_ms / 1000, budget_ms
        self.mutation = operation == OperationType.MUTATION
        self.exceeded = False

    def spent(self, nodes: list[FieldNode], path: Path) -> BudgetExceeded | None:
        """The error a field about to start answers when the budget is spent, else None."""
        if self.mutation and path.prev is not None:
            return None
        if time.perf_counter() <= self.deadline:
            return None
        self.exceeded = True
        return BudgetExceeded(
            f"The request ran past its {self.budget_ms} ms budget; this field and the ones after it were not run.",
            nodes,
            path=path.as_list(),
            extensions={"code": QUERY_TOO_COMPLEX, "budgetMs": self.budget_ms},
        )


def request_budget(started: float, operation: OperationType) -> RequestBudget | None:
    """The budget ``LEDGER_REQUEST_BUDGET_MS`` gives a request started at ``started``; None when it is off."""
    budget_ms = settings.LEDGER_REQUEST_BUDGET_MS
    return RequestBudget(started, budget_ms, operation) if budget_ms > 0 else None


def one_budget_error(errors: list[GraphQLError]) -> list[GraphQLError]:
    """``errors`` with the first ``BudgetExceeded`` only: every field refused after the deadline raised its own."""
    first = next((error for error in errors if isinstance(error, BudgetExceeded)), None)
    return [error for error in errors if error is first or not isinstance(error, BudgetExceeded)]


# --- the response size budget ------------------------------------------------------------------


def within_response_budget(body: dict[str, Any], encoded: str, encode: Callable[[dict[str, Any]], str]) -> str:
    """``encoded``, or a QUERY_TOO_COMPLEX answer in its place when it is over ``LEDGER_MAX_RESPONSE_BYTES``.

    A backstop for what the estimate cannot see (long strings). Queries
    only: a mutation's answer is sent whole, since its changes are
    committed and the client must learn them (the estimate bounds it).
    """
    limit = settings.LEDGER_MAX_RESPONSE_BYTES
    size = len(encoded) if encoded.isascii() else len(encoded.encode("utf-8"))
    if size <= limit:
        return encoded
    refused = {
        "message": f"The response is {size} bytes, over the {limit}-byte limit: ask for fewer fields or rows.",
        "extensions": {"code": QUERY_TOO_COMPLEX, "responseBytes": size, "maxResponseBytes": limit},
    }
    withheld: dict[str, Any] = {"errors": [refused], "data": None}
    if "extensions" in body:
        withheld["extensions"] = body["extensions"]
    return encode(withheld)
