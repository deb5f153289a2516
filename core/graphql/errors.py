"""GraphQL errors with the ``extensions.code`` names of the contract (Apollo's), and the one place that codes them.

Every error a response carries passes ``format_error``: one with a code keeps
it; a permission refusal is FORBIDDEN; a statement PostgreSQL cancelled is
QUERY_TOO_COMPLEX (the client's query was too slow); anything else a resolver
raised is ours, logged whole and answered as INTERNAL with nothing of it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from graphql import GraphQLError

logger = logging.getLogger("ledger.graphql")

BAD_USER_INPUT = "BAD_USER_INPUT"
FORBIDDEN = "FORBIDDEN"
UNAUTHENTICATED = "UNAUTHENTICATED"
INTERNAL = "INTERNAL"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_REQUEST = "BAD_REQUEST"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
UNAVAILABLE = "UNAVAILABLE"
# Trusted documents (trusted.gate): a hash the store does not know; a text (or revoked document) the mode refuses.
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
UNAVAILABLE_MESSAGE = (
    "The ledger's database did not answer (a failover or a restart). Retry in a moment, with the same "
    "idempotency key for anything that moves money: a retry never applies it twice."
)

INTERNAL_MESSAGE = "Internal error. It has been logged with this request's X-Request-ID."
# SQLSTATE query_canceled: PostgreSQL cancelled a statement (statement_timeout).
QUERY_CANCELED = "57014"
# Behind a pooler a query's reads share one transaction (core.graphql.backstops.statements_bounded):
# after a cancelled statement the fields still to run fail with 25P02, not run for the same reason.
IN_FAILED_SQL_TRANSACTION = "25P02"


def bad_user_input(message: str, argument: str | None = None) -> GraphQLError:
    """An argument value a field refuses (a page size, a cursor)."""
    extensions: dict[str, object] = {"code": BAD_USER_INPUT}
    if argument is not None:
        extensions["argument"] = argument
    return GraphQLError(message, extensions=extensions)


def forbidden(message: str = "You do not have permission to read this field.") -> GraphQLError:
    return GraphQLError(message, extensions={"code": FORBIDDEN})


def internal_error() -> GraphQLError:
    """What the client learns of a failure of ours: that it happened, and where the log has it."""
    return GraphQLError(INTERNAL_MESSAGE, extensions={"code": INTERNAL})


def coded(error: GraphQLError, code: str) -> GraphQLError:
    """Gives ``error`` an ``extensions.code`` unless it has one (the cost rules set QUERY_TOO_COMPLEX)."""
    if not (error.extensions or {}).get("code"):
        error.extensions = {**(error.extensions or {}), "code": code}
    return error


def statement_timed_out(error: BaseException | None) -> bool:
    """Whether PostgreSQL cancelled a statement (SQLSTATE 57014) somewhere down this error's causes."""
    for _ in range(8):  # GraphQLError -> django.db.OperationalError -> psycopg.errors.QueryCanceled
        if error is None:
            return False
        sqlstate = getattr(error, "sqlstate", None)
        if sqlstate == QUERY_CANCELED or (sqlstate == IN_FAILED_SQL_TRANSACTION and settings.DATABASE_POOLER):
            return True
        error = getattr(error, "original_error", None) or error.__cause__
    return False


def statement_timeout_error(formatted: dict[str, Any] | None = None) -> dict[str, Any]:
    """The answer for a cancelled statement: QUERY_TOO_COMPLEX, never INTERNAL (the client's query was too slow)."""
    limit = settings.LEDGER_STATEMENT_TIMEOUT_MS
    return {
        **(formatted or {}),
        "message": f"A database statement ran past the {limit} ms limit and was cancelled; nothing of it was kept.",
        "extensions": {"code": QUERY_TOO_COMPLEX, "statementTimeoutMs": limit},
    }


def format_error(error: Exception) -> dict[str, Any]:
    """Every error carries ``extensions.code``; an unexpected one becomes INTERNAL and leaks nothing."""
    if not isinstance(error, GraphQLError):
        logger.error("Unexpected error outside GraphQL", exc_info=error)
        return {"message": INTERNAL_MESSAGE, "extensions": {"code": INTERNAL}}
    if (error.extensions or {}).get("code"):
        return dict(error.formatted)
    if isinstance(error.original_error, PermissionDenied):
        return {**error.formatted, "message": "Permission denied.", "extensions": {"code": FORBIDDEN}}
    if statement_timed_out(error.original_error):
        logger.warning("Statement timeout resolving %s", ".".join(map(str, error.path or ())))
        return statement_timeout_error(formatted=dict(error.formatted))
    if error.path is None:
        # Only request errors lack a path (variables of the wrong type): the client's mistake.
        return {**error.formatted, "extensions": {**(error.extensions or {}), "code": GRAPHQL_VALIDATION_FAILED}}
    # A resolver raised, or returned what its type forbids: ours. Log it whole, answer nothing of it.
    logger.error(
        "Unexpected error resolving %s", ".".join(map(str, error.path)), exc_info=error.original_error or error
    )
    formatted: dict[str, Any] = {"message": INTERNAL_MESSAGE}
    if error.locations:
        formatted["locations"] = [location.formatted for location in error.locations]
    formatted["path"] = error.path
    formatted["extensions"] = {"code": INTERNAL}
    return formatted
