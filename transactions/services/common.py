"""What the money operations share: their public names and the rules that need no database."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Account, AccountStatus
from core.errors import ErrorCode, LedgerError
from transactions.models import MAX_DESCRIPTION, Transaction

MAX_BATCH = 1000
REVERSE = "reverseTransaction"
CANCEL = "cancelTransaction"
CAPTURE = "captureTransaction"
SETTLE = "settleTransaction"
EXPIRE = "expireHold"
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


def check_may_receive(account: Account, field: str | None) -> None:
    """A CLOSED account receives nothing."""
    if account.status == AccountStatus.CLOSED:
        raise LedgerError(ErrorCode.ACCOUNT_CLOSED, "The account is closed: nothing moves in or out.", field)


def check_may_send(account: Account, field: str | None) -> None:
    """A CLOSED account sends nothing; a FROZEN one sends nothing new (what it held still settles)."""
    check_may_receive(account, field)
    if account.status == AccountStatus.FROZEN:
        raise LedgerError(ErrorCode.ACCOUNT_FROZEN, "The account is frozen: money may arrive but not leave.", field)


def require_found(tx: Transaction | None) -> Transaction:
    """The transaction an operation locked by its ID, or TRANSACTION_NOT_FOUND on ``transactionId``."""
    if tx is None:
        raise LedgerError(ErrorCode.TRANSACTION_NOT_FOUND, "No such transaction.", "transactionId")
    return tx


def require_status(tx: Transaction, status: str, code: ErrorCode, done: str) -> None:
    """Refuses with ``code`` unless ``tx`` is in ``status`` (only a PENDING one is cancelled, ...)."""
    if tx.status != status:
        raise LedgerError(code, f"Only {status} transactions can be {done}; this one is {tx.status}.", "transactionId")
