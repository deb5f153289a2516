"""What the money operations share: their public names and the rules that need no database."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ErrorCode, LedgerError
from transactions.models import MAX_DESCRIPTION

MAX_BATCH = 1000
REVERSE = "reverseTransaction"
CANCEL = "cancelTransaction"
SETTLE = "settleTransaction"
SETTLE_ACTOR = "system:settle"


@dataclass(frozen=True)
class Operation:
    """How one public operation names things: its idempotency scope and audit action, its input fields."""

    name: str
    types: frozenset[str]
    sender_field: str = "senderAccount"
    receiver_field: str = "receiverAccount"


def check_description(description: str) -> None:
    if len(description) > MAX_DESCRIPTION:
        raise LedgerError(
            ErrorCode.INVALID_INPUT, f"The description has at most {MAX_DESCRIPTION} characters.", "description"
        )
