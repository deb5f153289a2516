"""Business-rule failures in mutation payloads: one type, one translation."""

from __future__ import annotations

from typing import Any

import graphene

from core.errors import ErrorCode, LedgerError

LedgerErrorCode = graphene.Enum.from_enum(ErrorCode, name="LedgerErrorCode")


class LedgerErrorType(graphene.ObjectType):
    """A business-rule failure, returned in a mutation payload (HTTP 200)."""

    class Meta:
        name = "LedgerError"
        description = "A business-rule failure, returned in a mutation payload (HTTP 200)."

    code = graphene.NonNull(LedgerErrorCode)
    message = graphene.NonNull(graphene.String)
    field = graphene.String(
        description='The input field at fault, as named in the input type (e.g. "amount"), or null.'
    )


def payload_errors(*errors: LedgerError | None) -> list[dict[str, Any]]:
    """The one place a domain error becomes a payload error."""
    return [{"code": e.code.value, "message": e.message, "field": e.field} for e in errors if e is not None]


def permission_denied() -> LedgerError:
    return LedgerError(ErrorCode.PERMISSION_DENIED, "Your key or user may not perform this mutation.", None)


def ErrorList() -> graphene.NonNull:
    return graphene.NonNull(graphene.List(graphene.NonNull(LedgerErrorType)))
