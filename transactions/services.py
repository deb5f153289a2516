"""Every write that moves money: the one path, shared by the API, admin and commands.

Each public function is one business operation and one database transaction
(retried on serialization failures and deadlocks, core.db). Rejections raise
``core.errors.LedgerError`` after their audit event is committed; nothing else
is written for them. Error ``field`` values are the public API's input names.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import SETTLEMENT_ACCOUNT_ID, AccountKind
from audit.models import AuditEvent
from audit.services import audit_event_build, audit_event_record
from core import metrics
from core.counters import TRANSACTIONS, counter_add
from core.db import retrying_atomic
from core.errors import ErrorCode, LedgerError
from core.money import check_cents
from core.permissions import actor_may
from transactions.bulk import reserve_ids
from transactions.idempotency import (
    check_key,
    find_existing,
    fingerprint,
    idempotency_scope,
    key_reused,
    replay,
)
from transactions.models import FailureReason, Transaction, TransactionStatus, TransactionType
from transactions.posting import AccountBook

logger = logging.getLogger("ledger.money")

TRANSFER_TYPES = frozenset({TransactionType.PIX, TransactionType.TED, TransactionType.DOC, TransactionType.TRANSFER})
PENDING_TYPES = frozenset({TransactionType.TED, TransactionType.DOC})
MAX_BATCH = 1000
MAX_DESCRIPTION = 500
DEPOSIT_PERMISSION = "transactions.add_deposit"
T = TypeVar("T")


@dataclass(frozen=True)
class TransferSpec:
    sender_id: int
    receiver_id: int
    amount: int  # centavos
    type: str
    description: str = ""
    idempotency_key: str | None = None


@dataclass
class TransferResult:
    transaction: Transaction | None
    error: LedgerError | None = None


@dataclass(frozen=True)
class _Operation:
    """How one public operation names things: its idempotency scope and input fields."""

    name: str
    types: frozenset[str]
    sender_field: str = "senderAccount"
    receiver_field: str = "receiverAccount"


CREATE_TRANSACTION = _Operation("createTransaction", TRANSFER_TYPES)
CREATE_TRANSACTIONS = _Operation("createTransactions", TRANSFER_TYPES)
CREATE_DEPOSIT = _Operation("createDeposit", frozenset({TransactionType.DEPOSIT}), "accountId", "accountId")


# --- Transfers ---------------------------------------------------------------------


def transfer_create(*, spec: TransferSpec, actor: Any = None) -> TransferResult:
    """One PIX/TRANSFER (completed at once) or TED/DOC (held, settled later).

    Returns a FAILED transaction with an INSUFFICIENT_FUNDS error when the
    sender's available balance is short; raises for every other rejection.
    """
    (result,) = _transfer_many([spec], atomic=False, actor=actor, operation=CREATE_TRANSACTION)
    if result.transaction is None:
        assert result.error is not None
        raise result.error
    return result


def transfer_batch_create(
    *, specs: Sequence[TransferSpec | LedgerError], atomic: bool = False, actor: Any = None
) -> list[TransferResult]:
    """1 to 1000 transfers in list order, in one database transaction, set-based.

    A ``LedgerError`` in place of a spec is an item the caller already refused
    (an unknown ID, a bad amount): it fails like any other item. With ``atomic``
    the first failing item aborts the batch: nothing is applied, that item
    carries its error and every other one BATCH_ABORTED.
    """
    if not specs:
        raise _rejected(
            actor,
            CREATE_TRANSACTIONS.name,
            LedgerError(ErrorCode.INVALID_INPUT, "A batch needs at least one transaction.", "transactions"),
        )
    if len(specs) > MAX_BATCH:
        raise _rejected(
            actor,
            CREATE_TRANSACTIONS.name,
            LedgerError(ErrorCode.BATCH_TOO_LARGE, f"A batch holds at most {MAX_BATCH} transactions.", "transactions"),
        )
    return _transfer_many(specs, atomic=atomic, actor=actor, operation=CREATE_TRANSACTIONS)


def deposit_create(
    *, account_id: int, amount: int, description: str = "", idempotency_key: str | None = None, actor: Any = None
) -> Transaction:
    """Credits a customer account from the settlement account, completed at once.

    Money enters the books here and nowhere else, so the permission is asked
    here (``deposit_refusal``): the API, the admin and the commands all obey it.
    """
    refusal = deposit_refusal(actor)
    if refusal is not None:
        raise _rejected(actor, CREATE_DEPOSIT.name, refusal)
    spec = TransferSpec(
        SETTLEMENT_ACCOUNT_ID, account_id, amount, TransactionType.DEPOSIT, description, idempotency_key
    )
    (result,) = _transfer_many([spec], atomic=False, actor=actor, operation=CREATE_DEPOSIT)
    if result.transaction is None or result.error is not None:
        assert result.error is not None
        raise result.error
    return result.transaction


def deposit_refusal(actor: Any, field: str | None = None) -> LedgerError | None:
    """PERMISSION_DENIED unless ``actor`` may credit an account from the settlement account."""
    if actor_may(actor, DEPOSIT_PERMISSION):
        return None
    return LedgerError(
        ErrorCode.PERMISSION_DENIED, f"Crediting an account needs the {DEPOSIT_PERMISSION} permission.", field
    )


def _check_spec(spec: TransferSpec, operation: _Operation) -> None:
    """The rules that need no database."""
    if spec.type not in operation.types:
        raise LedgerError(
            ErrorCode.INVALID_TRANSACTION_TYPE,
            f"Type must be one of {', '.join(sorted(operation.types))}.",
            "type",
        )
    check_cents(spec.amount)
    if len(spec.description) > MAX_DESCRIPTION:
        raise LedgerError(ErrorCode.INVALID_INPUT, "The description has at most 500 characters.", "description")
    check_key(spec.idempotency_key)
    if spec.sender_id == spec.receiver_id:
        raise LedgerError(
            ErrorCode.SAME_ACCOUNT, "Sender and receiver must be different accounts.", operation.receiver_field
        )


def _spec_fingerprint(spec: TransferSpec) -> str:
    return fingerprint(
        sender=spec.sender_id,
        receiver=spec.receiver_id,
        amount=spec.amount,
        type=spec.type,
        description=spec.description,
    )


def _transfer_many(
    specs: Sequence[TransferSpec | LedgerError], *, atomic: bool, actor: Any, operation: _Operation
) -> list[TransferResult]:
    results = _with_idempotency_race(lambda: _apply_transfers(specs, atomic, actor, operation))
    tally: Counter[tuple[str, str]] = Counter()
    for result in results:
        tx = result.transaction
        # A rejected item was never recorded, so it has no type: its outcome is its error code.
        rejected_code = result.error.code.value if result.error else "UNKNOWN"
        tally[(tx.type, tx.status) if tx is not None else ("NONE", rejected_code)] += 1
    for (kind, outcome), count in tally.items():
        metrics.TRANSFERS.labels(kind, outcome).inc(count)
    if len(results) == 1:
        tx, error = results[0].transaction, results[0].error
        logger.info(
            "transfer",
            extra={
                "operation": operation.name,
                "transaction_id": tx.pk if tx else None,
                "type": tx.type if tx else None,
                "outcome": error.code if error else tx.status if tx else None,
            },
        )
    else:
        logger.info(
            "transfer batch",
            extra={
                "operation": operation.name,
                "items": len(results),
                "atomic": atomic,
                "outcomes": {f"{kind}:{outcome}": count for (kind, outcome), count in tally.items()},
            },
        )
    return results


@retrying_atomic("transfer")
def _apply_transfers(
    specs: Sequence[TransferSpec | LedgerError], atomic: bool, actor: Any, operation: _Operation
) -> list[TransferResult]:
    scope = idempotency_scope(actor, operation.name)
    valid = [spec for spec in specs if isinstance(spec, TransferSpec)]
    existing = find_existing(scope, [s.idempotency_key for s in valid if s.idempotency_key])
    book = AccountBook.lock(
        [i for s in valid if s.idempotency_key not in existing for i in (s.sender_id, s.receiver_id)]
    )
    now = timezone.now()
    results: list[TransferResult] = []
    created: list[Transaction] = []
    in_batch: dict[str, tuple[str, TransferResult]] = {}
    aborted_at: int | None = None

    for index, spec in enumerate(specs):
        if isinstance(spec, LedgerError):
            result = TransferResult(None, spec)
        else:
            key = spec.idempotency_key
            # Only a keyed request is ever compared with another.
            digest = _spec_fingerprint(spec) if key is not None else ""
            try:
                _check_spec(spec, operation)
                if key in existing:
                    result = _replayed(replay(existing[key], digest))
                elif key is not None and key in in_batch:
                    earlier_digest, earlier = in_batch[key]
                    if earlier_digest != digest:
                        raise key_reused()
                    result = earlier
                else:
                    result = _decide(spec, book, now, operation, scope, digest)
                    if result.transaction is not None and not (atomic and result.error):
                        created.append(result.transaction)
            except LedgerError as error:
                result = TransferResult(None, error)
            if key is not None and key not in existing and key not in in_batch:
                in_batch[key] = (digest, result)
        if atomic and result.error is not None:
            aborted_at = index
            results.append(TransferResult(None, result.error))
            break
        results.append(result)

    if aborted_at is not None:
        aborted = LedgerError(ErrorCode.BATCH_ABORTED, f"Not applied: item {aborted_at} failed.", None)
        results = [results[aborted_at] if i == aborted_at else TransferResult(None, aborted) for i in range(len(specs))]
        _audit_batch(actor, operation, results, outcome="ABORTED")
        return results

    reserve_ids(created)  # the pks the entries' hashes and the audit event name
    book.save(created=created, events=[_audit_batch_event(actor, operation, results, "OK")])
    return results


def _decide(
    spec: TransferSpec, book: AccountBook, now: datetime, operation: _Operation, scope: str, digest: str
) -> TransferResult:
    """Applies one transfer's rules to the locked accounts, in memory."""
    if spec.sender_id not in book:
        raise LedgerError(ErrorCode.ACCOUNT_NOT_FOUND, "No such sender account.", operation.sender_field)
    if spec.receiver_id not in book:
        raise LedgerError(ErrorCode.ACCOUNT_NOT_FOUND, "No such receiver account.", operation.receiver_field)
    if book[spec.sender_id].kind == AccountKind.SETTLEMENT and spec.type != TransactionType.DEPOSIT:
        raise LedgerError(
            ErrorCode.INVALID_INPUT, "The settlement account cannot send transfers.", operation.sender_field
        )
    if spec.type == TransactionType.DEPOSIT and book[spec.receiver_id].kind != AccountKind.CUSTOMER:
        raise LedgerError(ErrorCode.SAME_ACCOUNT, "Deposits go to customer accounts.", operation.receiver_field)
    tx = Transaction(
        sender_id=spec.sender_id,
        receiver_id=spec.receiver_id,
        amount=spec.amount,
        type=spec.type,
        description=spec.description,
        idempotency_scope=scope if spec.idempotency_key else None,
        idempotency_key=spec.idempotency_key,
        request_fingerprint=digest,
        created_at=now,
    )
    book.count_transaction(spec.sender_id, spec.receiver_id)
    if not book.can_spend(spec.sender_id, spec.amount):
        tx.status, tx.failure_reason = TransactionStatus.FAILED, FailureReason.INSUFFICIENT_FUNDS
        return TransferResult(tx, _insufficient_funds())
    if spec.type in PENDING_TYPES:
        tx.status, tx.due_at = TransactionStatus.PENDING, now + _settlement_delay(spec.type)
        book.hold(spec.sender_id, spec.amount)
    else:
        tx.status, tx.completed_at = TransactionStatus.COMPLETED, now
        book.post(tx, now)
    return TransferResult(tx)


def _replayed(original: Transaction) -> TransferResult:
    """The original outcome of an idempotent retry: same transaction, same errors."""
    if original.failure_reason == FailureReason.INSUFFICIENT_FUNDS:
        return TransferResult(original, _insufficient_funds())
    return TransferResult(original)


def _insufficient_funds() -> LedgerError:
    return LedgerError(ErrorCode.INSUFFICIENT_FUNDS, "The sender's available balance is below the amount.", "amount")


def _settlement_delay(kind: str) -> timedelta:
    seconds = settings.LEDGER_TED_DELAY if kind == TransactionType.TED else settings.LEDGER_DOC_DELAY
    return timedelta(seconds=seconds)


def _audit_batch(actor: Any, operation: _Operation, results: list[TransferResult], outcome: str) -> None:
    _audit_batch_event(actor, operation, results, outcome).save(force_insert=True)


def _audit_batch_event(actor: Any, operation: _Operation, results: list[TransferResult], outcome: str) -> AuditEvent:
    """One event: a single transfer's own outcome, or a batch's outcome with every item's."""
    if len(results) == 1:
        (result,) = results
        tx = result.transaction
        return audit_event_build(
            actor=actor,
            action=operation.name,
            outcome=result.error.code if result.error else (tx.status if tx else "OK"),
            object_type="Transaction" if tx else "",
            object_id=tx.pk if tx else "",
            payload={"error": result.error.as_dict()} if result.error else {},
        )
    return audit_event_build(
        actor=actor,
        action=operation.name,
        outcome=outcome,
        payload={"results": [[i, *_audit_item(r)] for i, r in enumerate(results)]},
    )


def _audit_item(result: TransferResult) -> tuple[int | None, str]:
    """(transaction pk or None, its status or the error code) for a batch's audit payload."""
    tx, error = result.transaction, result.error
    return (tx.pk if tx else None, error.code.value if error else tx.status if tx else "UNKNOWN")


# --- Reversal and cancellation ------------------------------------------------------


def transaction_reverse(
    *, transaction_id: int, description: str = "", idempotency_key: str | None = None, actor: Any = None
) -> tuple[Transaction, Transaction]:
    """Moves a COMPLETED transaction's money back, at once; the original becomes REVERTED."""
    if len(description) > MAX_DESCRIPTION:
        raise _rejected(
            actor,
            "reverseTransaction",
            LedgerError(ErrorCode.INVALID_INPUT, "The description has at most 500 characters.", "description"),
        )
    try:
        check_key(idempotency_key)
    except LedgerError as error:
        raise _rejected(actor, "reverseTransaction", error) from None
    outcome = _with_idempotency_race(lambda: _reverse(transaction_id, description, idempotency_key, actor))
    if isinstance(outcome, LedgerError):
        metrics.TRANSFERS.labels(TransactionType.REVERSAL, "REJECTED").inc()
        raise outcome
    metrics.TRANSFERS.labels(TransactionType.REVERSAL, TransactionStatus.COMPLETED).inc()
    logger.info("reversal", extra={"transaction_id": outcome[1].pk, "type": "REVERSAL", "outcome": "COMPLETED"})
    return outcome


@retrying_atomic("reverse")
def _reverse(
    transaction_id: int, description: str, key: str | None, actor: Any
) -> tuple[Transaction, Transaction] | LedgerError:
    action = "reverseTransaction"
    original = Transaction.objects.select_for_update().filter(pk=transaction_id).first()
    if original is None:
        return _refuse(actor, action, ErrorCode.TRANSACTION_NOT_FOUND, "No such transaction.", "transactionId")
    scope, digest = idempotency_scope(actor, action), fingerprint(transaction=transaction_id, description=description)
    # Checked under the original's lock: a concurrent retry with this key has committed by now.
    existing = find_existing(scope, [key] if key else [])
    if key in existing:
        try:
            reversal = replay(existing[key], digest)
        except LedgerError as error:
            return _rejected(actor, action, error)
        assert reversal.reverses is not None
        return reversal.reverses, reversal
    if original.type == TransactionType.REVERSAL:
        return _refuse(actor, action, ErrorCode.NOT_REVERSIBLE, "A reversal cannot be reversed.", "transactionId")
    if original.status == TransactionStatus.REVERTED:
        return _refuse(
            actor, action, ErrorCode.ALREADY_REVERTED, "This transaction was already reversed.", "transactionId"
        )
    if original.status != TransactionStatus.COMPLETED:
        return _refuse(
            actor,
            action,
            ErrorCode.NOT_REVERSIBLE,
            f"Only COMPLETED transactions can be reversed; this one is {original.status}.",
            "transactionId",
        )
    book = AccountBook.lock([original.sender_id, original.receiver_id])
    if not book.can_spend(original.receiver_id, original.amount):
        return _refuse(
            actor,
            action,
            ErrorCode.INSUFFICIENT_FUNDS,
            "The receiver's available balance cannot cover the reversal.",
            "transactionId",
        )
    now = timezone.now()
    reversal = Transaction(
        sender_id=original.receiver_id,
        receiver_id=original.sender_id,
        amount=original.amount,
        type=TransactionType.REVERSAL,
        status=TransactionStatus.COMPLETED,
        description=description,
        idempotency_scope=scope if key else None,
        idempotency_key=key,
        request_fingerprint=digest,
        created_at=now,
        completed_at=now,
        reverses=original,
    )
    reversal.save(force_insert=True)
    book.count_transaction(reversal.sender_id, reversal.receiver_id)
    book.post(reversal, now)
    book.save()
    original.status = TransactionStatus.REVERTED
    original.save(update_fields=["status"])
    counter_add(TRANSACTIONS, 1)
    audit_event_record(
        actor=actor,
        action=action,
        outcome="COMPLETED",
        object_type="Transaction",
        object_id=original.pk,
        payload={"reversal": reversal.pk},
    )
    audit_event_record(
        actor=actor,
        action=action,
        outcome="COMPLETED",
        object_type="Transaction",
        object_id=reversal.pk,
        payload={"reverses": original.pk},
    )
    return original, reversal


def transaction_cancel(*, transaction_id: int, actor: Any = None) -> Transaction:
    """Turns a PENDING TED/DOC into FAILED (CANCELLED) and releases its hold."""
    outcome = _cancel(transaction_id, actor)
    if isinstance(outcome, LedgerError):
        raise outcome
    logger.info("cancel", extra={"transaction_id": outcome.pk, "type": outcome.type, "outcome": "CANCELLED"})
    return outcome


@retrying_atomic("cancel")
def _cancel(transaction_id: int, actor: Any) -> Transaction | LedgerError:
    action = "cancelTransaction"
    tx = Transaction.objects.select_for_update().filter(pk=transaction_id).first()
    if tx is None:
        return _refuse(actor, action, ErrorCode.TRANSACTION_NOT_FOUND, "No such transaction.", "transactionId")
    if tx.status != TransactionStatus.PENDING:
        return _refuse(
            actor,
            action,
            ErrorCode.NOT_CANCELLABLE,
            f"Only PENDING transactions can be cancelled; this one is {tx.status}.",
            "transactionId",
        )
    book = AccountBook.lock([tx.sender_id])
    book.release(tx.sender_id, tx.amount)
    book.save()
    tx.status, tx.failure_reason = TransactionStatus.FAILED, FailureReason.CANCELLED
    tx.save(update_fields=["status", "failure_reason"])
    audit_event_record(actor=actor, action=action, outcome="CANCELLED", object_type="Transaction", object_id=tx.pk)
    return tx


# --- Settlement ---------------------------------------------------------------------


def transactions_settle_due(*, limit: int | None = None, batch_size: int | None = None) -> int:
    """Settles every due PENDING transaction (up to ``limit``); returns how many.

    Each step claims up to ``batch_size`` due rows with ``FOR UPDATE SKIP
    LOCKED`` and settles them in one database transaction, so several workers
    share the queue, each row settles once, and a killed worker leaves its
    step wholly undone for the next one.
    """
    size = batch_size or settings.LEDGER_SETTLE_BATCH
    settled = 0
    while limit is None or settled < limit:
        step = size if limit is None else min(size, limit - settled)
        done = _settle_step(step)
        settled += done
        if done < step:
            break
    return settled


@retrying_atomic("settle")
def _settle_step(size: int) -> int:
    now = timezone.now()
    due = list(
        Transaction.objects.select_for_update(skip_locked=True)
        .filter(status=TransactionStatus.PENDING, due_at__lte=now)
        .order_by("due_at", "id")[:size]
    )
    if not due:
        return 0
    book = AccountBook.lock([i for tx in due for i in (tx.sender_id, tx.receiver_id)])
    for tx in due:
        book.release(tx.sender_id, tx.amount)
        book.post(tx, now)
        tx.status, tx.completed_at = TransactionStatus.COMPLETED, now
    Transaction.objects.bulk_update(due, ["status", "completed_at"])
    book.save()
    AuditEvent.objects.bulk_create(
        [
            audit_event_build(
                actor="system:settle",
                action="settleTransaction",
                outcome="COMPLETED",
                object_type="Transaction",
                object_id=tx.pk,
            )
            for tx in due
        ]
    )
    metrics.SETTLED.inc(len(due))
    for tx in due:
        metrics.TRANSFERS.labels(tx.type, "SETTLED").inc()
    return len(due)


# --- Shared helpers -----------------------------------------------------------------


def _refuse(actor: Any, action: str, code: ErrorCode, message: str, field: str | None) -> LedgerError:
    """Records a rejection in the caller's transaction and returns the error to raise after commit."""
    return _rejected(actor, action, LedgerError(code, message, field))


def _rejected(actor: Any, action: str, error: LedgerError) -> LedgerError:
    """The audit event of a rejected operation: committed, though nothing else is."""
    with transaction.atomic():
        audit_event_record(actor=actor, action=action, outcome=error.code, payload={"error": error.as_dict()})
    return error


def _with_idempotency_race(run: Callable[[], T]) -> T:
    """Runs again when a concurrent request with the same key won the UNIQUE index.

    The second run sees the winner's committed row and answers with it (or with
    IDEMPOTENCY_KEY_REUSED), exactly as a later retry would.
    """
    for attempt in range(3):
        try:
            return run()
        except IntegrityError as error:
            if "idempotency" not in str(error) or attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
