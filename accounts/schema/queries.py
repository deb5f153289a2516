"""Query fields for accounts: one by ID, and the keyset-paginated list."""

from __future__ import annotations

from typing import Any

import graphene

from accounts import selectors
from accounts.schema.types import AccountConnection, AccountKind, AccountOrder, AccountType
from core.graphql.connection import Ordering, Page, paginate
from core.graphql.enums import enum_value
from core.graphql.metadata import FILTER_METADATA, metadata_input
from core.graphql.resolvers import by_id_field
from core.metadata import metadata_pairs


def account_ordering(order_by: Any) -> Ordering:
    """CREATED_AT ASC unless asked; the pk breaks ties in the same direction."""
    field = enum_value(order_by.field) if order_by else "created_at"
    descending = bool(order_by) and enum_value(order_by.direction) == "DESC"
    return Ordering(f"accounts:{field}:{'desc' if descending else 'asc'}", (field,), descending)


class AccountQueries(graphene.ObjectType):
    account = by_id_field(AccountType, "An Account's global ID.", "One account; null when the ID names none.")
    accounts = graphene.NonNull(
        AccountConnection,
        first=graphene.Int(),
        after=graphene.String(),
        last=graphene.Int(),
        before=graphene.String(),
        search=graphene.String(description="A part of the name, or a whole CPF/CNPJ (punctuation optional)."),
        kind=AccountKind(description="Only accounts of this kind."),
        order_by=AccountOrder(description="Default: createdAt ASC (oldest first)."),
        metadata=metadata_input(FILTER_METADATA),
        description="Default order: createdAt ASC. `search` matches a name (case-insensitive substring) or a "
        "document (exact, normalized).",
    )

    @staticmethod
    def resolve_accounts(
        root: Any,
        info: graphene.ResolveInfo,
        search: str | None = None,
        kind: Any = None,
        order_by: Any = None,
        metadata: Any = None,
        **page: Any,
    ) -> Page:
        filters = {"search": search, "kind": enum_value(kind), "metadata": metadata_pairs(metadata)}
        return paginate(
            selectors.account_list(**filters),
            account_ordering(order_by),
            total=lambda: selectors.account_count(**filters),
            **page,
        )
