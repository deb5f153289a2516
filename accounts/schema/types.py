"""The Account type and its connection."""

from __future__ import annotations

from typing import ClassVar

import graphene
from graphene import relay

from accounts import models, selectors
from accounts.models import Account
from core import documents
from core.graphql.connection import KeysetConnection, edges_of
from core.graphql.enums import OrderDirection, to_enum
from core.graphql.resolvers import ModelNode, choice
from core.graphql.scalars import DateTime, Decimal

VIEW_ACCOUNT = "accounts.view_account"


# Generated from the domain's choices, descriptions included (accounts.models, core.documents).
AccountKind = to_enum(models.AccountKind)
DocumentType = to_enum(documents.DocumentType)


class AccountOrderField(graphene.Enum):
    # The values are the model fields the keyset orders by.
    CREATED_AT = "created_at"
    NAME = "name"


class AccountOrder(graphene.InputObjectType):
    field = graphene.NonNull(AccountOrderField)
    direction = graphene.NonNull(OrderDirection)


class AccountType(ModelNode, graphene.ObjectType):
    class Meta:
        name = "Account"
        interfaces = (relay.Node,)

    # Wherever an Account appears (a query, a transaction's sender, an entry, a payload): core.graphql.execution.
    view_permission: ClassVar[str] = VIEW_ACCOUNT

    name = graphene.NonNull(graphene.String)
    document = graphene.NonNull(
        graphene.String,
        description="Normalized CPF (11 digits) or CNPJ (14 characters, digits and upper-case letters).",
    )
    document_type = graphene.NonNull(DocumentType)
    kind = graphene.NonNull(AccountKind)
    balance = graphene.NonNull(Decimal, description="Posted balance: the sum of this account's entries.")
    available_balance = graphene.NonNull(
        Decimal, description="balance minus the amounts held by this account's PENDING outgoing transactions."
    )
    created_at = graphene.NonNull(DateTime)
    updated_at = graphene.NonNull(DateTime)
    # transactions, entries and balanceAt read entries and transactions: transactions.schema adds them.

    model = Account
    by_pk = selectors.accounts_by_pk
    resolve_kind = choice("kind")
    resolve_document_type = choice("document_type")

    @staticmethod
    def resolve_available_balance(account: Account, info: graphene.ResolveInfo) -> int:
        return account.available


class AccountEdge(graphene.ObjectType):
    node = graphene.NonNull(AccountType)
    cursor = graphene.NonNull(graphene.String)


class AccountConnection(KeysetConnection):
    edges = edges_of(AccountEdge)
