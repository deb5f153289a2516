"""Business-rule failures in mutation payloads: one type, one translation."""

from __future__ import annotations

from typing import Any

import graphene

from core.errors import ErrorCode, LedgerError

LedgerErrorCode = graphene.Enum.from_enum(
    ErrorCode,
    name="LedgerErrorCode",
    description="Why a mutation refused, in a payload error's `code` (HTTP 200). Every value says what happened "
    "and what the client should do.",
)


class LedgerErrorType(graphene.ObjectType):
    """A business-rule failure, returned in a mutation payload (HTTP 200)."""

    class Meta:
        name = "LedgerError"
        description = "A business-rule failure, returned in a mutation payload (HTTP 200)."

    code = graphene.NonNull(LedgerErrorCode, description="What went wrong, for the program: branch on this.")
    message = graphene.NonNull(
        graphene.String, description="What went wrong, for a person (English); its wording may change."
    )
    field = graphene.String(
        description='The input field at fault, as named in the input type (e.g. "amount"), or null.'
    )


def payload_errors(*errors: LedgerError | None) -> list[dict[str, Any]]:
    """The one place a domain error becomes a payload error."""
    return [{"code": e.code.value, "message": e.message, "field": e.field} for e in errors if e is not None]


def permission_denied() -> LedgerError:
    return LedgerError(ErrorCode.PERMISSION_DENIED, "Your key or user may not perform this mutation.", None)


def ErrorList(description: str | None = None) -> graphene.NonNull:
    """A payload's ``errors`` (without a description, the shared one: core.graphql.descriptions)."""
    return graphene.NonNull(graphene.List(graphene.NonNull(LedgerErrorType)), description=description)
