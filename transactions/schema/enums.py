"""The transaction enums of the contract."""

from __future__ import annotations

import graphene


class TransactionTypeEnum(graphene.Enum):
    class Meta:
        name = "TransactionType"

    PIX = "PIX"
    TED = "TED"
    DOC = "DOC"
    TRANSFER = "TRANSFER"
    DEPOSIT = "DEPOSIT"
    REVERSAL = "REVERSAL"

    @property
    def description(self) -> str | None:
        return {
            "DEPOSIT": "Money entering a customer account from the settlement account.",
            "REVERSAL": "Created by reverseTransaction; moves the money of a completed transaction back.",
        }.get(self.name)


class TransactionStatus(graphene.Enum):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    REVERTED = "REVERTED"


class FailureReason(graphene.Enum):
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    CANCELLED = "CANCELLED"

    @property
    def description(self) -> str | None:
        return {
            "INSUFFICIENT_FUNDS": "The sender's available balance was below the amount when the transaction was "
            "applied.",
            "CANCELLED": "A PENDING transaction cancelled by cancelTransaction before it settled.",
        }.get(self.name)


class TransactionDirection(graphene.Enum):
    SENT = "SENT"
    RECEIVED = "RECEIVED"
    ALL = "ALL"

    @property
    def description(self) -> str | None:
        return {
            "SENT": "Transactions where the account is the sender.",
            "RECEIVED": "Transactions where the account is the receiver.",
            "ALL": "Both.",
        }.get(self.name)


class TransactionOrderField(graphene.Enum):
    # The value is the model field the keyset orders by.
    CREATED_AT = "created_at"
