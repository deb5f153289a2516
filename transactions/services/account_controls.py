"""What an account may do: freeze, unfreeze, close (with a reason), and its credit limit.

These move no money, but every debit is judged by them, so they change the
account under the same row lock a transfer takes (``AccountBook.lock``) and are
written by the same one write (``AccountBook.save``): a transfer that locked
the account first commits before the freeze, one that comes after sees it. The
permissions are asked here, so the API, the admin and the commands all obey them.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from accounts.models import MAX_STATUS_REASON, Account, AccountKind, AccountStatus
from accounts.services import check_not_closed
from audit.services import audit_event_build, audited_refusals
from core.db import retrying_atomic
from core.errors import ErrorCode, LedgerError
from core.money import check_cents
from core.permissions import actor_may
from transactions.models import Transaction, TransactionStatus
from transactions.posting import AccountBook

STATUS_PERMISSION = "accounts.change_account_status"
LIMIT_PERMISSION = "accounts.change_credit_limit"
FREEZE, UNFREEZE, CLOSE = "freezeAccount", "unfreezeAccount", "closeAccount"
SET_CREDIT_LIMIT = "setCreditLimit"
# operation -> (the statuses it leaves from, the status it sets)
_MOVES = {
    FREEZE: ({AccountStatus.ACTIVE}, AccountStatus.FROZEN),
    UNFREEZE: ({AccountStatus.FROZEN}, AccountStatus.ACTIVE),
    CLOSE: ({AccountStatus.ACTIVE, AccountStatus.FROZEN}, AccountStatus.CLOSED),
}


@audited_refusals(FREEZE)
def account_freeze(*, account_id: int, reason: str, actor: Any = None) -> Account:
    """ACTIVE to FROZEN: money may still arrive, none may leave. Already FROZEN: unchanged."""
    return _change_status(FREEZE, account_id, reason, actor)


@audited_refusals(UNFREEZE)
def account_unfreeze(*, account_id: int, reason: str, actor: Any = None) -> Account:
    """FROZEN to ACTIVE. Already ACTIVE: unchanged."""
    return _change_status(UNFREEZE, account_id, reason, actor)


@audited_refusals(CLOSE)
def account_close(*, account_id: int, reason: str, actor: Any = None) -> Account:
    """ACTIVE or FROZEN to CLOSED, for good, when nothing is in it or on its way. Already CLOSED: unchanged."""
    return _change_status(CLOSE, account_id, reason, actor)


def _change_status(operation: str, account_id: int, reason: str, actor: Any) -> Account:
    if not actor_may(actor, STATUS_PERMISSION):
        raise LedgerError(
            ErrorCode.PERMISSION_DENIED, f"Changing an account's status needs the {STATUS_PERMISSION} permission."
        )
    clean = reason.strip() if isinstance(reason, str) else ""
    if not 1 <= len(clean) <= MAX_STATUS_REASON:
        raise LedgerError(
            ErrorCode.INVALID_INPUT, f"The reason must have 1 to {MAX_STATUS_REASON} characters.", "reason"
        )
    return _apply_status(operation, account_id, clean, actor)


@retrying_atomic("account status")
def _apply_status(operation: str, account_id: int, reason: str, actor: Any) -> Account:
    book = AccountBook.lock([account_id])
    account = _controlled(book, account_id)
    leaves_from, target = _MOVES[operation]
    before = account.status
    if before == target:  # asking for the status it has: nothing changes, and that is no error
        book.save(events=[_status_event(actor, operation, account, "UNCHANGED", before, reason)])
        return account
    check_not_closed(account)
    assert before in leaves_from
    if target == AccountStatus.CLOSED:
        _check_empty(account)
    # After this point the change must succeed.
    account.status, account.status_reason = target, reason
    if target == AccountStatus.CLOSED:
        account.closed_at = timezone.now()
    book.touch(account_id)
    book.save(events=[_status_event(actor, operation, account, target, before, reason)])
    return account


def _controlled(book: AccountBook, account_id: int) -> Account:
    """The locked customer account whose controls change; the settlement account has none."""
    if account_id not in book:
        raise LedgerError(ErrorCode.ACCOUNT_NOT_FOUND, "No such account.", "accountId")
    account = book[account_id]
    if account.kind == AccountKind.SETTLEMENT:
        raise LedgerError(ErrorCode.INVALID_INPUT, "The settlement account has no status or limit.", "accountId")
    return account


def _check_empty(account: Account) -> None:
    """Closing leaves nothing behind: no balance, no hold, no PENDING transaction to or from it."""
    pending = Transaction.objects.filter(
        Q(sender_id=account.pk) | Q(receiver_id=account.pk), status=TransactionStatus.PENDING
    ).exists()
    if account.balance != 0 or account.held != 0 or pending:
        raise LedgerError(
            ErrorCode.ACCOUNT_NOT_EMPTY,
            "Only an account with balance 0.00, nothing held and no PENDING transaction can be closed.",
            "accountId",
        )


def _status_event(actor: Any, operation: str, account: Account, outcome: str, before: str, reason: str) -> Any:
    return audit_event_build(
        actor=actor,
        action=operation,
        outcome=outcome,
        about=account,
        payload={"from": before, "to": account.status, "reason": reason},
    )


@audited_refusals(SET_CREDIT_LIMIT)
def account_set_credit_limit(*, account_id: int, credit_limit: int, actor: Any = None) -> Account:
    """Sets the overdraft the bank grants; never below what the account already uses."""
    if not actor_may(actor, LIMIT_PERMISSION):
        raise LedgerError(
            ErrorCode.PERMISSION_DENIED, f"Setting a credit limit needs the {LIMIT_PERMISSION} permission."
        )
    check_cents(credit_limit, field="creditLimit", allow_zero=True)
    return _apply_limit(account_id, credit_limit, actor)


@retrying_atomic("credit limit")
def _apply_limit(account_id: int, credit_limit: int, actor: Any) -> Account:
    book = AccountBook.lock([account_id])
    account = _controlled(book, account_id)
    check_not_closed(account)
    used = max(0, -account.available)
    if credit_limit < used:
        raise LedgerError(
            ErrorCode.LIMIT_BELOW_USAGE,
            f"The account already uses {used} centavos of credit; the limit cannot be lower.",
            "creditLimit",
        )
    # After this point the change must succeed.
    before, account.credit_limit = account.credit_limit, credit_limit
    book.touch(account_id)
    event = audit_event_build(
        actor=actor, action=SET_CREDIT_LIMIT, outcome="OK", about=account, payload={"old": before, "new": credit_limit}
    )
    book.save(events=[event])
    return account
