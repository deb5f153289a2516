"""Opening accounts: the only write of this app.

An initial balance is booked as a DEPOSIT from the settlement account through
``transactions.services``, in the same database transaction as the account, so
that money still enters through the one path, and needs what every deposit
needs (``transactions.add_deposit``): an opening balance is never a side door
for a caller that may only open accounts. The refusal comes before anything
is written, so no account is left behind.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError

from accounts.models import Account, AccountKind
from audit.services import audit_event_record, audited_refusals
from core.counters import ACCOUNTS, counter_add
from core.db import retrying_atomic
from core.documents import validate_document
from core.errors import ErrorCode, LedgerError
from core.money import check_cents
from core.permissions import actor_may

MAX_NAME = 200
ACCOUNT_PERMISSION = "accounts.add_account"
ACTION = "createAccount"


@audited_refusals(ACTION)
def account_create(*, name: str, document: str, initial_balance: int = 0, actor: Any = None) -> Account:
    """Opens a customer account; raises PERMISSION_DENIED, INVALID_INPUT, INVALID_DOCUMENT, INVALID_AMOUNT or
    DUPLICATE_DOCUMENT."""
    _check_permissions(actor, initial_balance)
    clean_name = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(clean_name) <= MAX_NAME:
        raise LedgerError(ErrorCode.INVALID_INPUT, "The name must have 1 to 200 characters.", "name")
    normalized, document_type = validate_document(document)
    check_cents(initial_balance, field="balance", allow_zero=True)
    return _create(clean_name, normalized, document_type.value, initial_balance, actor)


def _check_permissions(actor: Any, initial_balance: object) -> None:
    # Local import: the one call from accounts into transactions (DESIGN.md, Layout).
    from transactions.services import check_deposit_permission

    if not actor_may(actor, ACCOUNT_PERMISSION):
        raise LedgerError(
            ErrorCode.PERMISSION_DENIED, f"Opening an account needs the {ACCOUNT_PERMISSION} permission.", None
        )
    deposits = isinstance(initial_balance, int) and not isinstance(initial_balance, bool) and initial_balance > 0
    if deposits:
        check_deposit_permission(actor, field="balance")


@retrying_atomic(ACTION)
def _create(name: str, document: str, document_type: str, initial_balance: int, actor: Any) -> Account:
    # Local import: the one call from accounts into transactions (DESIGN.md, Layout).
    from transactions.services import deposit_create

    try:
        account = Account.objects.create(
            name=name, document=document, document_type=document_type, kind=AccountKind.CUSTOMER
        )
    except IntegrityError:  # a concurrent request took the document: the UNIQUE index decides
        raise LedgerError(
            ErrorCode.DUPLICATE_DOCUMENT, "An account with this document already exists.", "document"
        ) from None
    counter_add(ACCOUNTS, 1)
    audit_event_record(
        actor=actor,
        action=ACTION,
        outcome="OK",
        about=account,
        payload={"initial_balance": initial_balance},
    )
    if initial_balance > 0:
        deposit_create(account_id=account.pk, amount=initial_balance, description="Initial deposit", actor=actor)
        account.refresh_from_db()
    return account
