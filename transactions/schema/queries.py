"""Query fields for transactions: one by ID, and the keyset-paginated list."""

from __future__ import annotations

from typing import Any

import graphene

from core.graphql.connection import Page
from core.graphql.metadata import FILTER_METADATA, metadata_input
from core.graphql.resolvers import by_id_field
from core.graphql.scalars import DateTime
from transactions.feed import feed_page
from transactions.schema.connections import PAGE_ARGS, transactions_page
from transactions.schema.enums import TransactionStatus, TransactionTypeEnum
from transactions.schema.types import EntryConnection, TransactionConnection, TransactionNode, TransactionOrder


class TransactionQueries(graphene.ObjectType):
    transaction = by_id_field(
        TransactionNode, "A Transaction's global ID.", "One transaction; null when the ID names none."
    )
    transactions = graphene.Field(
        graphene.NonNull(TransactionConnection),
        args={
            **PAGE_ARGS,
            "account_id": graphene.ID(description="Only transactions this Account sent or received."),
            "status": TransactionStatus(description="Only transactions with this status."),
            "type": TransactionTypeEnum(description="Only transactions of this type."),
            "created_after": DateTime(description="Only transactions created strictly after this instant."),
            "created_before": DateTime(description="Only transactions created strictly before this instant."),
            "order_by": TransactionOrder(description="Default: createdAt ASC (oldest first)."),
            "metadata": metadata_input(FILTER_METADATA),
        },
        description="Default order: createdAt ASC. `accountId` keeps transactions where that account is sender or "
        "receiver.",
    )

    ledger_feed = graphene.Field(
        graphene.NonNull(EntryConnection),
        first=graphene.Int(description="Page size, 0 to 100; default 10."),
        after=graphene.String(description="The endCursor of the last page read; absent for the first page."),
        description="Every posted entry of the ledger in commit order. A consumer that keeps endCursor and asks "
        "again gets each entry exactly once, never skipping one whose transaction committed after a "
        "later-numbered one. An empty page has endCursor null and hasNextPage false: ask again with the same "
        "`after`. docs/API.md, The ledger feed.",
    )

    @staticmethod
    def resolve_ledger_feed(root: Any, info: graphene.ResolveInfo, **page: Any) -> Page:
        return feed_page(**page)

    @staticmethod
    def resolve_transactions(root: Any, info: graphene.ResolveInfo, **arguments: Any) -> Page:
        return transactions_page(**arguments)
