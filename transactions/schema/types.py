"""The Transaction and Entry types and their connections.

Every relation is read through the execution's loaders
(``core.graphql.loaders``): asked of one transaction of a page, it is fetched
for the whole page in one statement.
"""

from __future__ import annotations

from typing import ClassVar

import graphene

from accounts.schema import AccountType
from core.graphql.connection import KeysetConnection, edges_of
from core.graphql.enums import order_input
from core.graphql.metadata import metadata_field
from core.graphql.resolvers import ModelNode, choice, related
from core.graphql.scalars import DateTime, Decimal
from transactions import models, selectors
from transactions.models import Entry, Transaction
from transactions.schema.enums import (
    CaptureMode,
    FailureReason,
    TransactionOrderField,
    TransactionStatus,
    TransactionTypeEnum,
)

VIEW_TRANSACTION = "transactions.view_transaction"


TransactionOrder = order_input(
    "TransactionOrder",
    TransactionOrderField,
    "How to sort a list of transactions.",
    field="Only CREATED_AT exists today.",
    direction="ASC: oldest first; DESC: newest first.",
)


class TransactionNode(ModelNode):
    class Meta:
        name = "Transaction"
        description = (
            "Money moving from a sender to a receiver, or the record that it could not (status FAILED). Never "
            "deleted: a mistake is undone by a REVERSAL."
        )

    view_permission: ClassVar[str] = VIEW_TRANSACTION  # enforced by core.graphql.execution, wherever it appears

    sender = graphene.NonNull(AccountType, description="The account the money leaves.")
    receiver = graphene.NonNull(AccountType, description="The account the money enters.")
    amount = graphene.NonNull(Decimal, description="Always positive.")
    description = graphene.NonNull(graphene.String, description="The sender's free text; empty when none was given.")
    type = graphene.NonNull(TransactionTypeEnum, description="The rail (PIX, TED, DOC, TRANSFER) or operation.")
    status = graphene.NonNull(
        TransactionStatus, description="Where it stands; only COMPLETED and REVERTED moved money."
    )
    failure_reason = graphene.Field(FailureReason, description="Why the transaction is FAILED; null otherwise.")
    idempotency_key = graphene.String(description="The idempotency key it was created with, if any.")
    created_at = graphene.NonNull(DateTime, description="When the ledger accepted it; lists sort by it.")
    completed_at = DateTime(
        description="When the money moved (status became COMPLETED); null while PENDING or if it never moved."
    )
    reversed_by = graphene.Field(
        lambda: TransactionNode,
        description="For a REVERTED transaction: the REVERSAL that completed its reversal (the last of `reversals`).",
    )
    reverses = graphene.Field(lambda: TransactionNode, description="For a REVERSAL: the transaction it undid.")
    metadata = metadata_field("Set at creation; never changes.")
    entries = graphene.NonNull(
        graphene.List(graphene.NonNull(lambda: EntryNode)),
        description="The two ledger entries (debit of sender, credit of receiver) once posted; empty before.",
    )
    capture_mode = graphene.NonNull(
        CaptureMode, description="AUTOMATIC, or MANUAL: an authorization held until captured, cancelled or expired."
    )
    hold_expires_at = DateTime(description="For a MANUAL transaction: the instant its hold lapses if not captured.")
    captured_amount = Decimal(
        description="The amount that actually moved (a partial capture moves less than `amount`); null until money "
        "moved."
    )
    reversed_amount = graphene.NonNull(
        Decimal, description="Sum of the REVERSALs of this transaction so far (0.00 if none)."
    )
    reversals = graphene.NonNull(
        graphene.List(graphene.NonNull(lambda: TransactionNode)),
        description="Every REVERSAL of this transaction, oldest first.",
    )

    model = Transaction
    by_pk = selectors.transactions_by_pk
    resolve_sender = related("sender")
    resolve_receiver = related("receiver")
    resolve_type = choice("type")
    resolve_status = choice("status")
    resolve_failure_reason = choice("failure_reason")
    resolve_capture_mode = choice("capture_mode")
    resolve_reversals = related("reversals", lambda: selectors.transactions_with_parties().order_by("pk"))
    resolve_reverses = related("reverses", selectors.transactions_with_parties)
    # The debit (negative) first: sender, then receiver.
    resolve_entries = related("entries", lambda: Entry.objects.order_by("amount", "pk"))

    @staticmethod
    def resolve_reversed_by(tx: Transaction, info: graphene.ResolveInfo) -> Transaction | None:
        """The last reversal, once the reversals add up to everything captured (no more can follow it)."""
        if tx.status != models.TransactionStatus.REVERTED:
            return None
        reversals = TransactionNode.resolve_reversals(tx, info)
        return reversals[-1] if reversals else None


class EntryNode(ModelNode):
    class Meta:
        name = "Entry"
        description = "One posting on one account: the debit or the credit half of a transaction."

    view_permission: ClassVar[str] = VIEW_TRANSACTION

    account = graphene.NonNull(AccountType, description="The account this entry posts to.")
    transaction = graphene.NonNull(
        TransactionNode, description="The transaction this entry is half of (its other half is the counterparty's)."
    )
    amount = graphene.NonNull(
        Decimal, description="Signed: negative for money out of the account, positive for money in."
    )
    balance_after = graphene.NonNull(Decimal, description="The account's posted balance right after this entry.")
    sequence = graphene.NonNull(graphene.Int, description="1, 2, 3, ... per account, gapless, in posting order.")
    created_at = graphene.NonNull(DateTime, description="When it was posted.")
    hash = graphene.NonNull(
        graphene.String,
        description="Hex SHA-256 of prevHash and this entry's canonical content (docs/HASHES.md says which fields, "
        "in which form).",
    )
    prev_hash = graphene.NonNull(
        graphene.String, description="The hash of this account's previous entry; 64 zeros for its first."
    )

    model = Entry
    by_pk = selectors.entries_by_pk
    resolve_account = related("account")
    resolve_transaction = related("transaction", selectors.transactions_with_parties)


class TransactionEdge(graphene.ObjectType):
    node = graphene.NonNull(TransactionNode)
    cursor = graphene.NonNull(graphene.String)


class TransactionConnection(KeysetConnection):
    edges = edges_of(TransactionEdge)


class EntryEdge(graphene.ObjectType):
    node = graphene.NonNull(EntryNode)
    cursor = graphene.NonNull(graphene.String)


class EntryConnection(KeysetConnection):
    edges = edges_of(EntryEdge)
