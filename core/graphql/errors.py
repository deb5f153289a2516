"""GraphQL errors with the ``extensions.code`` names of the contract (Apollo's)."""

from __future__ import annotations

from graphql import GraphQLError

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


def bad_user_input(message: str, argument: str | None = None) -> GraphQLError:
    """An argument value a field refuses (a page size, a cursor)."""
    extensions: dict[str, object] = {"code": BAD_USER_INPUT}
    if argument is not None:
        extensions["argument"] = argument
    return GraphQLError(message, extensions=extensions)


def forbidden(message: str = "You do not have permission to read this field.") -> GraphQLError:
    return GraphQLError(message, extensions={"code": FORBIDDEN})
