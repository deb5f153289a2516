"""The root schema: it only assembles the apps' queries, mutations and node types."""

from __future__ import annotations

from typing import Any

import graphene
from graphene import relay

from accounts.schema import AccountQueries, AccountType, CreateAccount
from core.graphql.execution import LedgerExecutionContext
from core.graphql.node import NodeRegistry
from core.graphql.scalars import refuse_hostile_arguments
from transactions.schema import (
    CancelTransaction,
    CreateDeposit,
    CreateTransaction,
    CreateTransactions,
    EntryNode,
    ReverseTransaction,
    TransactionNode,
    TransactionQueries,
)

NODES = NodeRegistry(
    {
        "Account": (AccountType, "accounts.view_account"),
        "Transaction": (TransactionNode, "transactions.view_transaction"),
        "Entry": (EntryNode, "transactions.view_transaction"),
    }
)


class Query(AccountQueries, TransactionQueries, graphene.ObjectType):
    node = graphene.Field(relay.Node, id=graphene.NonNull(graphene.ID))
    nodes = graphene.NonNull(
        graphene.List(relay.Node),
        ids=graphene.NonNull(graphene.List(graphene.NonNull(graphene.ID))),
        description="Same order as `ids`; null where an ID is unknown or malformed.",
    )

    @staticmethod
    def resolve_node(root: Any, info: graphene.ResolveInfo, id: str) -> Any:
        return NODES.resolve(info, id)

    @staticmethod
    def resolve_nodes(root: Any, info: graphene.ResolveInfo, ids: list[str]) -> list[Any]:
        return NODES.resolve_many(info, ids)


class Mutation(graphene.ObjectType):
    create_account = CreateAccount.field()
    create_transaction = CreateTransaction.field()
    create_transactions = CreateTransactions.field()
    create_deposit = CreateDeposit.field()
    reverse_transaction = ReverseTransaction.field()
    cancel_transaction = CancelTransaction.field()


class LedgerSchema(graphene.Schema):
    """Runs every operation with the ledger's execution context (per-operation loaders), HTTP or not."""

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("execution_context_class", LedgerExecutionContext)
        return super().execute(*args, **kwargs)


schema = LedgerSchema(query=Query, mutation=Mutation, types=[AccountType, TransactionNode, EntryNode])
# NUL and lone surrogates in any argument: BAD_USER_INPUT at its field (mutation inputs: INVALID_INPUT).
refuse_hostile_arguments(schema.graphql_schema)
