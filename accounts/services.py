"""Opening accounts and changing their name and metadata: the writes of this app that move no money.

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

from accounts.models import Account, AccountKind, AccountStatus
from audit.services import audit_event_record, audited_refusals
from core.counters import ACCOUNTS, counter_add
from core.db import retrying_atomic
from core.documents import validate_document
from core.errors import ErrorCode, LedgerError
from core.metadata import Pairs, check_metadata, entries_of
from core.money import check_cents
from core.permissions import actor_may

MAX_NAME = 200
ACCOUNT_PERMISSION = "accounts.add_account"
ACTION = "createAccount"
UPDATE = "updateAccount"
CHANGE_PERMISSION = "accounts.change_account"


@audited_refusals(ACTION)
def account_create(
    *, name: str, document: str, initial_balance: int = 0, metadata: Pairs = (), actor: Any = None
) -> Account:
    """Opens a customer account; raises PERMISSION_DENIED, INVALID_INPUT, INVALID_DOCUMENT, INVALID_AMOUNT or
    DUPLICATE_DOCUMENT."""
    _check_permissions(actor, initial_balance)
    clean_name = _check_name(name)
    normalized, document_type = validate_document(document)
    check_cents(initial_balance, field="balance", allow_zero=True)
    labels = check_metadata(metadata)
    return _create(clean_name, normalized, document_type.value, initial_balance, labels, actor)


def _check_name(name: object) -> str:
    clean_name = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(clean_name) <= MAX_NAME:
        raise LedgerError(ErrorCode.INVALID_INPUT, f"The name must have 1 to {MAX_NAME} characters.", "name")
    return clean_name


@audited_refusals(UPDATE)
def account_update(
    *, account_id: int, name: str | None = None, metadata: Pairs | None = None, actor: Any = None
) -> Account:
    """Replaces an account's name and/or whole metadata (None: unchanged; (): cleared), with the creation checks.

    Raises PERMISSION_DENIED, ACCOUNT_NOT_FOUND, INVALID_INPUT (bad name or
    metadata; the settlement account) or ACCOUNT_CLOSED. One audit event keeps
    the old and the new values.
    """
    if not actor_may(actor, CHANGE_PERMISSION):
        raise LedgerError(
            ErrorCode.PERMISSION_DENIED, f"Changing an account needs the {CHANGE_PERMISSION} permission.", None
        )
    clean_name = None if name is None else _check_name(name)
    labels = None if metadata is None else check_metadata(metadata)
    return _update(account_id, clean_name, labels, metadata is not None, actor)


@retrying_atomic(UPDATE)
def _update(
    account_id: int, name: str | None, labels: list[dict[str, str]] | None, relabel: bool, actor: Any
) -> Account:
    # The row lock orders this with the postings that lock the account (which never write these columns).
    account = Account.objects.select_for_update().filter(pk=account_id).first()
    if account is None:
        raise LedgerError(ErrorCode.ACCOUNT_NOT_FOUND, "No account has this ID.", "accountId")
    if account.kind == AccountKind.SETTLEMENT:
        raise LedgerError(ErrorCode.INVALID_INPUT, "The settlement account cannot be changed.", "accountId")
    check_not_closed(account)
    old = {"name": account.name, "metadata": entries_of(account.metadata)}
    if name is not None:
        account.name = name
    if relabel:
        account.metadata = labels
    account.save(update_fields=["name", "metadata", "updated_at"])
    new = {"name": account.name, "metadata": entries_of(account.metadata)}
    audit_event_record(actor=actor, action=UPDATE, outcome="OK", about=account, payload={"old": old, "new": new})
    return account


def check_not_closed(account: Account) -> None:
    """A CLOSED account is final: its name, metadata, status and credit limit change no more."""
    if account.status == AccountStatus.CLOSED:
        raise LedgerError(ErrorCode.ACCOUNT_CLOSED, "The account is closed, for good.", "accountId")


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
def _create(
    name: str, document: str, document_type: str, initial_balance: int, labels: list[dict[str, str]] | None, actor: Any
) -> Account:
    # Local import: the one call from accounts into transactions (DESIGN.md, Layout).
    from transactions.services import deposit_create

    try:
        account = Account.objects.create(
            name=name, document=document, document_type=document_type, kind=AccountKind.CUSTOMER, metadata=labels
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
