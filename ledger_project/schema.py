"""The root schema: it only assembles the apps' queries, mutations and node types."""

from __future__ import annotations

from typing import Any

import graphene
from graphene import relay

from accounts.schema import AccountQueries, AccountType, CreateAccount, UpdateAccount
from audit.schema import AuditEventNode, AuditQueries, use_registry
from core.graphql.descriptions import describe_shared
from core.graphql.execution import LedgerExecutionContext
from core.graphql.node import NodeRegistry
from core.graphql.scalars import refuse_hostile_arguments
from transactions.schema import (
    CancelTransaction,
    CaptureTransaction,
    CloseAccount,
    CreateDeposit,
    CreateTransaction,
    CreateTransactions,
    EntryNode,
    FreezeAccount,
    ReverseTransaction,
    SetCreditLimit,
    TransactionNode,
    TransactionQueries,
    UnfreezeAccount,
)

NODES = NodeRegistry(
    {
        "Account": (AccountType, "accounts.view_account"),
        "Transaction": (TransactionNode, "transactions.view_transaction"),
        "Entry": (EntryNode, "transactions.view_transaction"),
        "AuditEvent": (AuditEventNode, "audit.view_auditevent"),
    }
)
use_registry(NODES)  # an audit event's subjects resolve through it


class Query(AccountQueries, TransactionQueries, AuditQueries, graphene.ObjectType):
    """What the ledger reads. Every list is a keyset-paged connection, oldest first unless `orderBy` says otherwise."""

    node = graphene.Field(
        relay.Node,
        id=graphene.Argument(graphene.NonNull(graphene.ID), description="Any global ID (Account, Transaction, Entry)."),
        description="The object with this global ID (Relay refetching); null when it names none.",
    )
    nodes = graphene.NonNull(
        graphene.List(relay.Node),
        ids=graphene.Argument(
            graphene.NonNull(graphene.List(graphene.NonNull(graphene.ID))), description="Global IDs, any types."
        ),
        description="Same order as `ids`; null where an ID is unknown or malformed.",
    )

    @staticmethod
    def resolve_node(root: Any, info: graphene.ResolveInfo, id: str) -> Any:
        return NODES.resolve(info, id)

    @staticmethod
    def resolve_nodes(root: Any, info: graphene.ResolveInfo, ids: list[str]) -> list[Any]:
        return NODES.resolve_many(info, ids)


class Mutation(graphene.ObjectType):
    """What changes the ledger. A refusal is a payload error (HTTP 200); money mutations take an idempotencyKey."""

    create_account = CreateAccount.field(
        "Opens a customer account, with an optional initial balance booked as a DEPOSIT."
    )
    create_transaction = CreateTransaction.field(
        "Sends money from one account to another: PIX and TRANSFER complete at once, TED and DOC are held PENDING "
        "until settled. A transfer short of funds is recorded FAILED and comes with INSUFFICIENT_FUNDS."
    )
    create_transactions = CreateTransactions.field(
        "Up to 1000 transfers in one request, in list order: each on its own, or all-or-nothing with `atomic`."
    )
    create_deposit = CreateDeposit.field("Credits a customer account from the bank's settlement account.")
    reverse_transaction = ReverseTransaction.field(
        "Undoes a COMPLETED transaction: it becomes REVERTED and a new REVERSAL moves the money back."
    )
    cancel_transaction = CancelTransaction.field(
        "Cancels a PENDING transaction before it settles: it becomes FAILED (CANCELLED) and its hold is released."
    )
    update_account = UpdateAccount.field(
        "Replaces an account's name and/or whole metadata. Permission: accounts.change_account."
    )
    capture_transaction = CaptureTransaction.field(
        "Posts all or part of a MANUAL hold at once (COMPLETED) and releases the whole hold."
    )
    set_credit_limit = SetCreditLimit.field("Sets the overdraft an account may use (cheque especial).")
    freeze_account = FreezeAccount.field("ACTIVE to FROZEN: money may arrive but not leave.")
    unfreeze_account = UnfreezeAccount.field("FROZEN to ACTIVE.")
    close_account = CloseAccount.field(
        "ACTIVE or FROZEN to CLOSED, for good, when its balance is 0.00 and nothing is held or PENDING."
    )


class LedgerSchema(graphene.Schema):
    """Runs every operation with the ledger's execution context (per-operation loaders), HTTP or not."""

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("execution_context_class", LedgerExecutionContext)
        return super().execute(*args, **kwargs)


schema = LedgerSchema(query=Query, mutation=Mutation, types=[AccountType, TransactionNode, EntryNode, AuditEventNode])
# The descriptions shared by every connection, payload and input; the scalars' specifiedByURL.
describe_shared(schema.graphql_schema)
# NUL and lone surrogates in any argument: BAD_USER_INPUT at its field (mutation inputs: INVALID_INPUT).
refuse_hostile_arguments(schema.graphql_schema)
