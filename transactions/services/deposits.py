"""Deposits: money entering a customer account, from the settlement account.

Money enters the books here and nowhere else, so the permission is asked here
(``check_deposit_permission``): the API, the admin and the commands all obey it, and so
does an account's opening balance (``accounts.services``).
"""

from __future__ import annotations

from typing import Any

from accounts.models import SETTLEMENT_ACCOUNT_ID
from audit.services import refuse
from core.errors import ErrorCode, LedgerError
from core.metadata import Pairs
from core.permissions import actor_may
from transactions.models import Transaction, TransactionType
from transactions.services.common import Operation
from transactions.services.transfers import TransferSpec, transfer_many

DEPOSIT_PERMISSION = "transactions.add_deposit"
CREATE_DEPOSIT = Operation("createDeposit", frozenset({TransactionType.DEPOSIT}), "accountId", "accountId")


def deposit_create(
    *,
    account_id: int,
    amount: int,
    description: str = "",
    idempotency_key: str | None = None,
    metadata: Pairs = (),
    actor: Any = None,
) -> Transaction:
    """Credits a customer account from the settlement account, completed at once."""
    try:
        check_deposit_permission(actor)
    except LedgerError as error:
        refuse(actor=actor, action=CREATE_DEPOSIT.name, error=error)
    spec = TransferSpec(
        SETTLEMENT_ACCOUNT_ID, account_id, amount, TransactionType.DEPOSIT, description, idempotency_key, metadata
    )
    (result,) = transfer_many([spec], atomic=False, actor=actor, operation=CREATE_DEPOSIT)
    if result.transaction is None or result.error is not None:
        assert result.error is not None
        raise result.error
    return result.transaction


def check_deposit_permission(actor: Any, field: str | None = None) -> None:
    """Raises PERMISSION_DENIED unless ``actor`` may credit an account from the settlement account."""
    if not actor_may(actor, DEPOSIT_PERMISSION):
        raise LedgerError(
            ErrorCode.PERMISSION_DENIED, f"Crediting an account needs the {DEPOSIT_PERMISSION} permission.", field
        )
