"""The transaction enums of the contract."""

from __future__ import annotations

import graphene

from core.choices import member_descriptions
from core.graphql.enums import to_enum
from transactions import models

# Generated from the model's choices, descriptions included (transactions.models).
TransactionTypeEnum = to_enum(models.TransactionType)
TransactionStatus = to_enum(models.TransactionStatus)
FailureReason = to_enum(models.FailureReason)
CaptureMode = to_enum(models.CaptureMode)


class TransactionDirection(graphene.Enum):
    """Which of an account's transactions: the ones it sent, received, or both."""

    SENT = "SENT"
    RECEIVED = "RECEIVED"
    ALL = "ALL"

    description = member_descriptions(
        SENT="Transactions where the account is the sender.",
        RECEIVED="Transactions where the account is the receiver.",
        ALL="Both.",
    )


class TransactionOrderField(graphene.Enum):
    """What a list of transactions is sorted by (the pk breaks ties, in the same direction)."""

    # The value is the model field the keyset orders by.
    CREATED_AT = "created_at"

    description = member_descriptions(
        CREATED_AT="When the transaction was created.",
    )
