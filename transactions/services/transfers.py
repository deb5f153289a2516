"""Transfers between accounts: one (createTransaction) or a batch of up to 1000 (createTransactions).

A deposit takes the same path (``deposits``). Each item is decided against the
locked accounts in list order; the whole request is one database transaction
and one ``AccountBook.save``, with one audit event for the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import AccountKind
from audit.models import AuditEvent
from audit.services import audit_event_build, audit_rejection, refuse
from core.db import retrying_atomic
from core.errors import ErrorCode, LedgerError
from core.metadata import Pairs, check_metadata
from core.money import check_cents
from transactions.idempotency import (
    check_key,
    find_existing,
    fingerprint,
    idempotency_scope,
    key_reused,
    replay,
    retry_on_key_race,
)
from transactions.models import (
    MANUAL_TYPES,
    PENDING_TYPES,
    TRANSFER_TYPES,
    CaptureMode,
    FailureReason,
    Transaction,
    TransactionStatus,
    TransactionType,
)
from transactions.posting import AccountBook
from transactions.services import telemetry
from transactions.services.common import MAX_BATCH, Operation, check_description, check_may_receive, check_may_send

MAX_HOLD = timedelta(days=30)  # the furthest a MANUAL hold's expiry may be set


@dataclass(frozen=True)
class TransferSpec:
    sender_id: int
    receiver_id: int
    amount: int  # centavos
    type: str
    description: str = ""
    idempotency_key: str | None = None
    metadata: Pairs = ()  # (key, value) pairs in the client's order (core.metadata)
    capture_mode: str = CaptureMode.AUTOMATIC
    hold_expires_at: datetime | None = None


@dataclass
class TransferResult:
    transaction: Transaction | None
    error: LedgerError | None = None


CREATE_TRANSACTION = Operation("createTransaction", TRANSFER_TYPES)
CREATE_TRANSACTIONS = Operation("createTransactions", TRANSFER_TYPES)


def transfer_create(*, spec: TransferSpec, actor: Any = None) -> TransferResult:
    """One PIX/TRANSFER (completed at once) or TED/DOC (held, settled later).

    Returns a FAILED transaction with an INSUFFICIENT_FUNDS error when the
    sender's available balance is short; raises for every other rejection.
    """
    (result,) = transfer_many([spec], atomic=False, actor=actor, operation=CREATE_TRANSACTION)
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
    action = CREATE_TRANSACTIONS.name
    if not specs:
        error = LedgerError(ErrorCode.INVALID_INPUT, "A batch needs at least one transaction.", "transactions")
        refuse(actor=actor, action=action, error=error)
    if len(specs) > MAX_BATCH:
        error = LedgerError(
            ErrorCode.BATCH_TOO_LARGE, f"A batch holds at most {MAX_BATCH} transactions.", "transactions"
        )
        refuse(actor=actor, action=action, error=error)
    return transfer_many(specs, atomic=atomic, actor=actor, operation=CREATE_TRANSACTIONS)


def transfer_many(
    specs: Sequence[TransferSpec | LedgerError], *, atomic: bool, actor: Any, operation: Operation
) -> list[TransferResult]:
    """Every transfer-shaped request: applied (again, if a concurrent key won), then reported."""
    results = retry_on_key_race(lambda: _apply(specs, atomic, actor, operation))
    telemetry.transfers_done(operation.name, atomic, results)
    return results


@dataclass
class _Request:
    """One request's items against the locked accounts: what they created and the keys they used."""

    book: AccountBook
    operation: Operation
    scope: str
    existing: dict[str, Transaction]
    now: datetime = field(default_factory=timezone.now)
    created: list[Transaction] = field(default_factory=list)
    seen: dict[str, tuple[str, TransferResult]] = field(default_factory=dict)

    def outcome(self, item: TransferSpec | LedgerError) -> TransferResult:
        if isinstance(item, LedgerError):
            return TransferResult(None, item)
        key = item.idempotency_key
        # Only a keyed request is ever compared with another.
        digest = _spec_fingerprint(item) if key is not None else ""
        try:
            result = self._decide(item, key, digest)
        except LedgerError as error:
            result = TransferResult(None, error)
        if key is not None and key not in self.existing and key not in self.seen:
            self.seen[key] = (digest, result)
        return result

    def _decide(self, spec: TransferSpec, key: str | None, digest: str) -> TransferResult:
        """The item's checks in order, each raising its error, then its posting."""
        _check_spec(spec, self.operation, self.now)
        if key is not None and key in self.existing:
            return _replayed(replay(self.existing[key], digest))
        if key is not None and key in self.seen:
            earlier_digest, earlier = self.seen[key]
            if earlier_digest != digest:
                raise key_reused()
            return earlier
        fields = self.operation
        if spec.sender_id not in self.book:
            raise LedgerError(ErrorCode.ACCOUNT_NOT_FOUND, "No such sender account.", fields.sender_field)
        if spec.receiver_id not in self.book:
            raise LedgerError(ErrorCode.ACCOUNT_NOT_FOUND, "No such receiver account.", fields.receiver_field)
        if self.book[spec.sender_id].kind == AccountKind.SETTLEMENT and spec.type != TransactionType.DEPOSIT:
            raise LedgerError(
                ErrorCode.INVALID_INPUT, "The settlement account cannot send transfers.", fields.sender_field
            )
        # Account status after the input checks and before funds: CLOSED on either side, then FROZEN.
        check_may_receive(self.book[spec.sender_id], fields.sender_field)
        check_may_receive(self.book[spec.receiver_id], fields.receiver_field)
        if spec.type != TransactionType.DEPOSIT:  # the settlement account sends deposits whatever it is
            check_may_send(self.book[spec.sender_id], fields.sender_field)
        # Recorded from here on: COMPLETED, PENDING, or FAILED for want of funds.
        tx = self._post(spec, digest)
        self.created.append(tx)
        if tx.status == TransactionStatus.FAILED:
            return TransferResult(tx, _insufficient_funds())
        return TransferResult(tx)

    def _post(self, spec: TransferSpec, digest: str) -> Transaction:
        book, now = self.book, self.now
        tx = Transaction(
            sender_id=spec.sender_id,
            receiver_id=spec.receiver_id,
            amount=spec.amount,
            type=spec.type,
            description=spec.description,
            idempotency_scope=self.scope if spec.idempotency_key else None,
            idempotency_key=spec.idempotency_key,
            request_fingerprint=digest,
            created_at=now,
            metadata=check_metadata(spec.metadata),
            capture_mode=spec.capture_mode,
        )
        book.count_transaction(spec.sender_id, spec.receiver_id)
        if not book.can_spend(spec.sender_id, spec.amount):
            tx.status, tx.failure_reason = TransactionStatus.FAILED, FailureReason.INSUFFICIENT_FUNDS
        elif spec.capture_mode == CaptureMode.MANUAL:  # an authorization: held until captured, voided or expired
            tx.status, tx.hold_expires_at = TransactionStatus.PENDING, spec.hold_expires_at or now + _hold_ttl()
            book.hold(spec.sender_id, spec.amount)
        elif spec.type in PENDING_TYPES:
            tx.status, tx.due_at = TransactionStatus.PENDING, now + _settlement_delay(spec.type)
            book.hold(spec.sender_id, spec.amount)
        else:
            tx.status, tx.completed_at = TransactionStatus.COMPLETED, now
            book.post(tx, now)
        return tx


@retrying_atomic("transfer")
def _apply(
    specs: Sequence[TransferSpec | LedgerError], atomic: bool, actor: Any, operation: Operation
) -> list[TransferResult]:
    scope = idempotency_scope(actor, operation.name)
    valid = [spec for spec in specs if isinstance(spec, TransferSpec)]
    existing = find_existing(scope, [s.idempotency_key for s in valid if s.idempotency_key])
    new = [s for s in valid if s.idempotency_key not in existing]  # each creates one transaction, if not refused
    book = AccountBook.lock([i for s in new for i in (s.sender_id, s.receiver_id)], reserve=len(new))
    request = _Request(book, operation, scope, existing)
    results: list[TransferResult] = []
    for index, item in enumerate(specs):
        result = request.outcome(item)
        if atomic and result.error is not None:
            aborted = LedgerError(ErrorCode.BATCH_ABORTED, f"Not applied: item {index} failed.", None)
            results = [TransferResult(None, result.error if i == index else aborted) for i in range(len(specs))]
            book.discard()  # nothing of the batch is applied: only its audit event is written
            book.save(events=[_request_event(actor, operation, results, "ABORTED")])
            return results
        results.append(result)
    book.save(created=request.created, events=lambda: [_request_event(actor, operation, results, "OK")])
    return results


def _check_spec(spec: TransferSpec, operation: Operation, now: datetime) -> None:
    """The rules that need no database."""
    if spec.type not in operation.types:
        raise LedgerError(
            ErrorCode.INVALID_TRANSACTION_TYPE,
            f"Type must be one of {', '.join(sorted(operation.types))}.",
            "type",
        )
    _check_capture(spec, now)
    check_cents(spec.amount)
    check_description(spec.description)
    check_key(spec.idempotency_key)
    check_metadata(spec.metadata)
    if spec.sender_id == spec.receiver_id:
        raise LedgerError(
            ErrorCode.SAME_ACCOUNT, "Sender and receiver must be different accounts.", operation.receiver_field
        )


def _check_capture(spec: TransferSpec, now: datetime) -> None:
    """MANUAL only for PIX/TRANSFER; an expiry only with MANUAL, after ``now`` and at most MAX_HOLD ahead."""
    if spec.capture_mode == CaptureMode.MANUAL and spec.type not in MANUAL_TYPES:
        raise LedgerError(
            ErrorCode.INVALID_INPUT,
            f"captureMode MANUAL is for {' and '.join(sorted(MANUAL_TYPES))}; {spec.type} settles by itself.",
            "captureMode",
        )
    expires = spec.hold_expires_at
    if expires is None:
        return
    if spec.capture_mode != CaptureMode.MANUAL:
        raise LedgerError(ErrorCode.INVALID_INPUT, "holdExpiresAt is only for captureMode MANUAL.", "holdExpiresAt")
    if expires <= now:
        raise LedgerError(ErrorCode.INVALID_INPUT, "holdExpiresAt must be in the future.", "holdExpiresAt")
    if expires > now + MAX_HOLD:
        raise LedgerError(
            ErrorCode.INVALID_INPUT, f"holdExpiresAt is at most {MAX_HOLD.days} days ahead.", "holdExpiresAt"
        )


def _spec_fingerprint(spec: TransferSpec) -> str:
    # Metadata joins the fingerprint only when given, so requests from before it existed keep theirs.
    labels = {"metadata": [list(pair) for pair in spec.metadata]} if spec.metadata else {}
    manual = (
        {"capture_mode": spec.capture_mode, "hold_expires_at": spec.hold_expires_at}
        if spec.capture_mode == CaptureMode.MANUAL
        else {}  # an AUTOMATIC request keeps the fingerprint it had before captures existed
    )
    return fingerprint(
        sender=spec.sender_id,
        receiver=spec.receiver_id,
        amount=spec.amount,
        type=spec.type,
        description=spec.description,
        **labels,
        **manual,
    )


def _replayed(original: Transaction) -> TransferResult:
    """The original outcome of an idempotent retry: same transaction, same errors."""
    if original.failure_reason == FailureReason.INSUFFICIENT_FUNDS:
        return TransferResult(original, _insufficient_funds())
    return TransferResult(original)


def _insufficient_funds() -> LedgerError:
    return LedgerError(ErrorCode.INSUFFICIENT_FUNDS, "The sender's available balance is below the amount.", "amount")


def _hold_ttl() -> timedelta:
    return timedelta(seconds=settings.LEDGER_HOLD_TTL)


def _settlement_delay(kind: str) -> timedelta:
    seconds = settings.LEDGER_TED_DELAY if kind == TransactionType.TED else settings.LEDGER_DOC_DELAY
    return timedelta(seconds=seconds)


def _request_event(actor: Any, operation: Operation, results: list[TransferResult], outcome: str) -> AuditEvent:
    """The request's one event: a single transfer's own outcome, or a batch's outcome with every item's."""
    if len(results) == 1:
        (result,) = results
        tx = result.transaction
        if tx is None:
            assert result.error is not None
            return audit_rejection(actor=actor, action=operation.name, error=result.error)
        return audit_event_build(
            actor=actor,
            action=operation.name,
            outcome=result.error.code if result.error else tx.status,
            about=tx,
            payload={"error": result.error.as_dict()} if result.error else {},
        )
    return audit_event_build(
        actor=actor,
        action=operation.name,
        outcome=outcome,
        payload={"results": [[i, *_audit_item(r)] for i, r in enumerate(results)]},
        touched=tuple(r.transaction for r in results),
    )


def _audit_item(result: TransferResult) -> tuple[int | None, str]:
    """(transaction pk or None, its status or the error code) for a batch's audit payload."""
    tx, error = result.transaction, result.error
    return (tx.pk if tx else None, error.code.value if error else tx.status if tx else "UNKNOWN")
