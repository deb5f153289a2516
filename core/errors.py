"""The one error vocabulary of the ledger.

Services raise ``LedgerError``; the GraphQL layer turns it into a payload
``LedgerError`` object in one place, the admin and the commands print it. The
codes are the ``LedgerErrorCode`` enum of the public contract.
"""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_AMOUNT = "INVALID_AMOUNT"
    INVALID_DOCUMENT = "INVALID_DOCUMENT"
    DUPLICATE_DOCUMENT = "DUPLICATE_DOCUMENT"
    ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND"
    TRANSACTION_NOT_FOUND = "TRANSACTION_NOT_FOUND"
    SAME_ACCOUNT = "SAME_ACCOUNT"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    INVALID_TRANSACTION_TYPE = "INVALID_TRANSACTION_TYPE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    NOT_REVERSIBLE = "NOT_REVERSIBLE"
    ALREADY_REVERTED = "ALREADY_REVERTED"
    NOT_CANCELLABLE = "NOT_CANCELLABLE"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    BATCH_TOO_LARGE = "BATCH_TOO_LARGE"
    BATCH_ABORTED = "BATCH_ABORTED"


class LedgerError(Exception):
    """A business-rule failure: a code, a human message and the input field at fault."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        # Set once an audit event records this refusal (``audit.services.audit_rejection``), so that
        # the layer that answers it (``core.graphql.mutations``) writes one only where none was.
        self.audited = False

    def __repr__(self) -> str:
        return f"LedgerError({self.code.value!r}, {self.message!r}, field={self.field!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LedgerError):
            return NotImplemented
        return (self.code, self.message, self.field) == (other.code, other.message, other.field)

    def __hash__(self) -> int:
        return hash((self.code, self.message, self.field))

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code.value, "message": self.message, "field": self.field}
