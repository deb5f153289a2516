"""The Account type and its connection."""

from __future__ import annotations

from typing import ClassVar

import graphene

from accounts import models, selectors
from accounts.models import Account
from core import documents
from core.choices import member_descriptions
from core.graphql.connection import KeysetConnection, edges_of
from core.graphql.enums import order_input, to_enum
from core.graphql.metadata import metadata_field
from core.graphql.resolvers import ModelNode, choice
from core.graphql.scalars import DateTime, Decimal

VIEW_ACCOUNT = "accounts.view_account"


# Generated from the domain's choices, descriptions included (accounts.models, core.documents).
AccountKind = to_enum(models.AccountKind)
DocumentType = to_enum(documents.DocumentType)
AccountStatus = to_enum(models.AccountStatus)


class AccountOrderField(graphene.Enum):
    """What a list of accounts is sorted by (the pk breaks ties, in the same direction)."""

    # The values are the model fields the keyset orders by.
    CREATED_AT = "created_at"
    NAME = "name"

    description = member_descriptions(
        CREATED_AT="When the account was opened.",
        NAME="The holder's name, as stored.",
    )


AccountOrder = order_input(
    "AccountOrder",
    AccountOrderField,
    "How to sort a list of accounts.",
    field="The sort key.",
    direction="ASC: oldest (or A) first; DESC: the reverse.",
)


class AccountType(ModelNode):
    class Meta:
        name = "Account"
        description = (
            "A customer's account, or the bank's settlement account. Its balance changes only through transactions."
        )

    # Wherever an Account appears (a query, a transaction's sender, an entry, a payload): core.graphql.execution.
    view_permission: ClassVar[str] = VIEW_ACCOUNT

    name = graphene.NonNull(graphene.String, description="The holder's name.")
    document = graphene.NonNull(
        graphene.String,
        description="Normalized CPF (11 digits) or CNPJ (14 characters, digits and upper-case letters).",
    )
    document_type = graphene.NonNull(DocumentType, description="Whether `document` is a CPF or a CNPJ.")
    kind = graphene.NonNull(AccountKind, description="A customer's account or the bank's settlement account.")
    balance = graphene.NonNull(Decimal, description="Posted balance: the sum of this account's entries.")
    available_balance = graphene.NonNull(
        Decimal, description="balance minus the amounts held by this account's PENDING outgoing transactions."
    )
    status = graphene.NonNull(
        AccountStatus, description="ACTIVE, FROZEN (receives, sends nothing) or CLOSED (nothing moves)."
    )
    status_reason = graphene.String(description="Why the account was last frozen, unfrozen or closed; null if never.")
    credit_limit = graphene.NonNull(
        Decimal,
        description="Overdraft the bank grants (cheque especial): balance and availableBalance may go down to "
        "-creditLimit. 0.00 unless set.",
    )
    spendable = graphene.NonNull(Decimal, description="What a new debit may take now: availableBalance + creditLimit.")
    created_at = graphene.NonNull(DateTime, description="When the account was opened.")
    updated_at = graphene.NonNull(
        DateTime, description="When the account last changed (its balance or its held amount)."
    )
    metadata = metadata_field("The client's labels, in the order given; updateAccount replaces them.")
    # transactions, entries and balanceAt read entries and transactions: transactions.schema adds them.

    model = Account
    by_pk = selectors.accounts_by_pk
    resolve_kind = choice("kind")
    resolve_document_type = choice("document_type")
    resolve_status = choice("status")

    @staticmethod
    def resolve_available_balance(account: Account, info: graphene.ResolveInfo) -> int:
        return account.available

    @staticmethod
    def resolve_spendable(account: Account, info: graphene.ResolveInfo) -> int:
        return account.spendable


class AccountEdge(graphene.ObjectType):
    node = graphene.NonNull(AccountType)
    cursor = graphene.NonNull(graphene.String)


class AccountConnection(KeysetConnection):
    edges = edges_of(AccountEdge)
