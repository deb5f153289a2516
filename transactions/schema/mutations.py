"""The money mutations: decode the input, call one service, shape the payload.

The rules live in ``transactions.services``; what happens here is translation.
A global ID that does not name an object of the expected type is
ACCOUNT_NOT_FOUND / TRANSACTION_NOT_FOUND on the input field that carried it;
an amount that ``core.money.parse_amount`` refuses is INVALID_AMOUNT.
"""

from __future__ import annotations

from typing import Any

import graphene

from core.errors import ErrorCode, LedgerError
from core.graphql.enums import enum_value
from core.graphql.loaders import register_for_loading
from core.graphql.metadata import CREATE_METADATA, metadata_input
from core.graphql.mutations import LedgerMutation
from core.graphql.node import decode_id
from core.graphql.payload import ErrorList, payload_errors
from core.graphql.scalars import DateTime, Decimal
from core.metadata import metadata_pairs
from core.money import parse_amount
from transactions import services
from transactions.models import CaptureMode as CaptureModeChoice
from transactions.schema.enums import CaptureMode, TransactionTypeEnum
from transactions.schema.types import TransactionNode

ADD_TRANSACTION = "transactions.add_transaction"


def account_pk(raw: Any, field: str) -> int:
    pk = decode_id(raw, "Account")
    if pk is None:
        raise LedgerError(ErrorCode.ACCOUNT_NOT_FOUND, "No account has this ID.", field)
    return pk


def transaction_pk(raw: Any, field: str = "transactionId") -> int:
    pk = decode_id(raw, "Transaction")
    if pk is None:
        raise LedgerError(ErrorCode.TRANSACTION_NOT_FOUND, "No transaction has this ID.", field)
    return pk


def transfer_spec(data: dict[str, Any]) -> services.TransferSpec:
    """A createTransaction input (or one TransactionSpec) as the service's spec."""
    return services.TransferSpec(
        sender_id=account_pk(data["sender_account"], "senderAccount"),
        receiver_id=account_pk(data["receiver_account"], "receiverAccount"),
        amount=parse_amount(data["amount"], field="amount"),
        type=str(enum_value(data["type"])),
        description=data.get("description") or "",
        idempotency_key=data.get("idempotency_key"),
        metadata=metadata_pairs(data.get("metadata")) or (),
        capture_mode=str(enum_value(data.get("capture_mode")) or CaptureModeChoice.AUTOMATIC),
        hold_expires_at=data.get("hold_expires_at"),
    )


def optional_amount(raw: Any) -> int | None:
    """An optional amount input: None when absent, else centavos (INVALID_AMOUNT as for any amount)."""
    return None if raw is None else parse_amount(raw, field="amount")


def capture_mode_argument() -> graphene.Argument:
    return CaptureMode(
        default_value=CaptureModeChoice.AUTOMATIC.value,
        description="MANUAL: authorize only (PIX and TRANSFER): the amount is held and the transaction stays "
        "PENDING until captureTransaction, cancelTransaction or holdExpiresAt. Default AUTOMATIC.",
    )


HOLD_EXPIRES_AT = (
    "Only with MANUAL: when the hold lapses. Default: createdAt + LEDGER_HOLD_TTL (7 days); at most 30 days ahead."
)


AMOUNT = 'Greater than 0, at most two decimals; send a string ("1234.50").'
DESCRIPTION = "Free text for the statement, up to 500 characters."
IDEMPOTENCY_KEY = "Client-chosen key (1-255 chars): a retry with the same key never moves money twice."


class TransferFields:
    """The fields of one transfer: createTransaction's input, and each TransactionSpec of createTransactions."""

    sender_account = graphene.NonNull(graphene.ID, description="Global ID of the sending Account.")
    receiver_account = graphene.NonNull(graphene.ID, description="Global ID of the receiving Account.")
    amount = graphene.NonNull(Decimal, description=AMOUNT)
    type = graphene.NonNull(TransactionTypeEnum, description="PIX, TED, DOC or TRANSFER.")
    description = graphene.String(description=DESCRIPTION)
    idempotency_key = graphene.String(description=IDEMPOTENCY_KEY)
    metadata = metadata_input(CREATE_METADATA)
    capture_mode = capture_mode_argument()
    hold_expires_at = DateTime(description=HOLD_EXPIRES_AT)


class TransactionSpec(TransferFields, graphene.InputObjectType):
    """One transfer of a createTransactions batch: the fields of createTransaction."""


class CreateTransaction(LedgerMutation):
    class Meta:
        permission = ADD_TRANSACTION

    class Input(TransferFields):
        metadata = metadata_input(CREATE_METADATA + " Part of the idempotency fingerprint; never changes.")

    transaction = graphene.Field(
        TransactionNode,
        description="The transaction: COMPLETED, PENDING, or FAILED (then `errors` says why); null when nothing "
        "was recorded.",
    )
    errors = ErrorList()

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, **data: Any) -> dict[str, Any]:
        result = services.transfer_create(spec=transfer_spec(data), actor=info.context.user)
        # INSUFFICIENT_FUNDS: the FAILED transaction was recorded, and the payload carries both.
        return {"transaction": register_for_loading(result.transaction)[0], "errors": payload_errors(result.error)}


class TransactionResult(graphene.ObjectType):
    """The outcome of one item of a createTransactions batch."""

    index = graphene.NonNull(graphene.Int, description="Position in the input list, from 0.")
    transaction = graphene.Field(
        TransactionNode, description="The transaction recorded for this item (possibly FAILED); null when none was."
    )
    errors = ErrorList(description="This item's business-rule failures; empty when it was done.")


class CreateTransactions(LedgerMutation):
    class Meta:
        permission = ADD_TRANSACTION

    class Input:
        transactions = graphene.NonNull(
            graphene.List(graphene.NonNull(TransactionSpec)), description="1 to 1000 transfers, applied in list order."
        )
        atomic = graphene.Boolean(
            default_value=False,
            description="true: all succeed or none is applied (failures abort the batch). false (default): each "
            "stands alone.",
        )

    results = graphene.NonNull(
        graphene.List(graphene.NonNull(TransactionResult)), description="One result per input item, same order."
    )
    errors = ErrorList()
    empty_payload = {"results": []}

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, **data: Any) -> dict[str, Any]:
        specs: list[services.TransferSpec | LedgerError] = []
        # Past MAX_BATCH the service refuses the whole list: decoding the rest would be wasted.
        for item in data["transactions"][: services.MAX_BATCH + 1]:
            try:
                specs.append(transfer_spec(item))
            except LedgerError as error:
                specs.append(error)  # the service fails this item (and aborts an atomic batch)
        results = services.transfer_batch_create(specs=specs, atomic=bool(data.get("atomic")), actor=info.context.user)
        transactions = register_for_loading(*(result.transaction for result in results))
        return {
            "results": [
                {"index": i, "transaction": tx, "errors": payload_errors(result.error)}
                for i, (tx, result) in enumerate(zip(transactions, results, strict=True))
            ]
        }


class CreateDeposit(LedgerMutation):
    class Meta:
        permission = "transactions.add_deposit"

    class Input:
        account_id = graphene.NonNull(graphene.ID, description="Global ID of the customer Account to credit.")
        amount = graphene.NonNull(Decimal, description=AMOUNT)
        description = graphene.String(description=DESCRIPTION)
        idempotency_key = graphene.String(description=IDEMPOTENCY_KEY)
        metadata = metadata_input(CREATE_METADATA)

    transaction = graphene.Field(TransactionNode, description="The DEPOSIT, COMPLETED; null when refused.")
    errors = ErrorList()

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, **data: Any) -> dict[str, Any]:
        tx = services.deposit_create(
            account_id=account_pk(data["account_id"], "accountId"),
            amount=parse_amount(data["amount"], field="amount"),
            description=data.get("description") or "",
            idempotency_key=data.get("idempotency_key"),
            metadata=metadata_pairs(data.get("metadata")) or (),
            actor=info.context.user,
        )
        return {"transaction": register_for_loading(tx)[0]}


class ReverseTransaction(LedgerMutation):
    class Meta:
        permission = "transactions.reverse_transaction"

    class Input:
        transaction_id = graphene.NonNull(graphene.ID, description="Global ID of the COMPLETED Transaction to undo.")
        description = graphene.String(description="Free text for the REVERSAL, up to 500 characters.")
        idempotency_key = graphene.String(description=IDEMPOTENCY_KEY)
        amount = Decimal(
            description="At most what remains unreversed (capturedAmount - reversedAmount). Default: all that remains."
        )

    transaction = graphene.Field(
        TransactionNode,
        description="The original transaction: REVERTED once its reversals add up to capturedAmount, else COMPLETED.",
    )
    reversal = graphene.Field(TransactionNode, description="The new REVERSAL transaction.")
    errors = ErrorList()

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, **data: Any) -> dict[str, Any]:
        original, reversal = services.transaction_reverse(
            transaction_id=transaction_pk(data["transaction_id"]),
            amount=optional_amount(data.get("amount")),
            description=data.get("description") or "",
            idempotency_key=data.get("idempotency_key"),
            actor=info.context.user,
        )
        register_for_loading(original, reversal)
        return {"transaction": original, "reversal": reversal}


class CancelTransaction(LedgerMutation):
    class Meta:
        permission = ADD_TRANSACTION

    class Input:
        transaction_id = graphene.NonNull(graphene.ID, description="Global ID of the PENDING Transaction to cancel.")

    transaction = graphene.Field(
        TransactionNode, description="The transaction, now FAILED with failureReason CANCELLED."
    )
    errors = ErrorList()

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, **data: Any) -> dict[str, Any]:
        tx = services.transaction_cancel(transaction_id=transaction_pk(data["transaction_id"]), actor=info.context.user)
        return {"transaction": register_for_loading(tx)[0]}


class CaptureTransaction(LedgerMutation):
    class Meta:
        permission = ADD_TRANSACTION

    class Input:
        transaction_id = graphene.NonNull(
            graphene.ID, description="A PENDING transaction created with captureMode MANUAL."
        )
        amount = Decimal(
            description="At most the held amount; the rest of the hold is released. Default: the whole amount."
        )
        idempotency_key = graphene.String(
            description="Client-chosen key (1-255 chars): a retry with the same key and input returns the same capture."
        )

    transaction = graphene.Field(TransactionNode, description="The transaction, now COMPLETED with capturedAmount set.")
    errors = ErrorList()

    @classmethod
    def perform(cls, info: graphene.ResolveInfo, **data: Any) -> dict[str, Any]:
        tx = services.transaction_capture(
            transaction_id=transaction_pk(data["transaction_id"]),
            amount=optional_amount(data.get("amount")),
            idempotency_key=data.get("idempotency_key"),
            actor=info.context.user,
        )
        return {"transaction": register_for_loading(tx)[0]}
