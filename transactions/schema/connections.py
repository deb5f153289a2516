"""The transaction and entry lists: the root ``transactions`` and the Account's own two connections.

An account's lists are ``OwnedRows`` (``core.graphql.nested``): inside a page
of accounts they are loaded for every account of the page at once. Their
cursors carry the account, so one account's cursor is refused on another's
list, as a cursor of any other connection is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import graphene

from accounts import selectors as account_selectors
from accounts.models import Account
from accounts.schema import AccountType
from core.graphql.connection import Ordering, Page, paginate
from core.graphql.enums import OrderDirection, enum_value
from core.graphql.extend import extend_object_type
from core.graphql.loaders import current_loaders
from core.graphql.nested import OwnedRows
from core.graphql.node import decode_id, restrict_fields
from core.graphql.scalars import DateTime, Decimal
from core.metadata import metadata_pairs
from transactions import selectors
from transactions.models import Transaction
from transactions.schema.enums import TransactionDirection, TransactionStatus, TransactionTypeEnum
from transactions.schema.types import VIEW_TRANSACTION, EntryConnection, TransactionConnection, TransactionOrder

PAGE_ARGS = {"first": graphene.Int(), "after": graphene.String(), "last": graphene.Int(), "before": graphene.String()}


def transaction_ordering(order_by: Any, scope: str = "transactions") -> Ordering:
    """createdAt ASC unless asked; ``scope`` names the connection in its cursors."""
    descending = bool(order_by) and enum_value(order_by.direction) == "DESC"
    return Ordering(f"{scope}:created_at:{'desc' if descending else 'asc'}", ("created_at",), descending)


def transactions_page(
    *,
    account_id: str | None = None,
    status: Any = None,
    type: Any = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    order_by: Any = None,
    metadata: Any = None,
    **page: Any,
) -> Page:
    """The root list; ``accountId`` keeps the transactions that account sent or received."""
    filters = {
        "status": enum_value(status),
        "type": enum_value(type),
        "created_after": created_after,
        "created_before": created_before,
        "metadata": metadata_pairs(metadata) or None,
    }
    ordering = transaction_ordering(order_by)
    if account_id is None:
        return paginate(
            selectors.transaction_list(**filters),
            ordering,
            total=lambda: selectors.transaction_count(**filters),
            **page,
        )
    pk = decode_id(account_id, "Account")
    account = account_selectors.account_get(pk) if pk is not None else None
    if account is None:  # an unknown account takes part in nothing
        return paginate(Transaction.objects.none(), ordering, total=lambda: 0, **page)
    return account_transactions_page(account, "ALL", filters, ordering, page)


def account_transactions_page(
    account: Account, direction: str, filters: dict[str, Any], ordering: Ordering, page: dict[str, Any]
) -> Page:
    rows = OwnedRows(
        account,
        selectors.transaction_list(**filters),
        selectors.TRANSACTION_SIDES[direction],
        key=("transactions", direction, tuple(sorted(filters.items()))),
    )
    unfiltered = all(value is None for value in filters.values())
    total = (lambda: selectors.account_transaction_total(account, direction)) if unfiltered else rows.count
    return paginate(rows, ordering, total=total, **page)


def resolve_account_transactions(
    account: Account,
    info: graphene.ResolveInfo,
    direction: Any = "ALL",
    status: Any = None,
    type: Any = None,
    order_by: Any = None,
    **page: Any,
) -> Page:
    filters = {"status": enum_value(status), "type": enum_value(type)}
    ordering = transaction_ordering(order_by, f"account:{account.pk}:transactions")
    return account_transactions_page(account, enum_value(direction) or "ALL", filters, ordering, page)


def resolve_account_entries(
    account: Account,
    info: graphene.ResolveInfo,
    since: datetime | None = None,
    until: datetime | None = None,
    direction: Any = "ASC",
    **page: Any,
) -> Page:
    """The statement, by ``sequence`` (posting order); ``since``/``until`` bound the posting time."""
    descending = enum_value(direction) == "DESC"
    ordering = Ordering(f"account:{account.pk}:entries:{'desc' if descending else 'asc'}", ("sequence",), descending)
    rows = OwnedRows(
        account, selectors.entry_list(since=since, until=until), selectors.ENTRY_OWNER, key=("entries", since, until)
    )
    total = (lambda: account.entry_count) if since is None and until is None else rows.count
    return paginate(rows, ordering, total=total, **page)


def resolve_balance_at(account: Account, info: graphene.ResolveInfo, at: datetime) -> int:
    balances = current_loaders().load(
        account, ("balance_at", at), lambda group: selectors.balances_at({a.pk for a in group}, at)
    )
    return balances.get(account.pk, 0)


extend_object_type(
    AccountType,
    balance_at=graphene.Field(
        graphene.NonNull(Decimal),
        at=graphene.Argument(
            graphene.NonNull(DateTime), description="The instant, with its UTC offset; entries posted at it count."
        ),
        resolver=resolve_balance_at,
        description="The posted balance as it stood at the instant `at` (0.00 before the first entry).",
    ),
    transactions=graphene.Field(
        graphene.NonNull(TransactionConnection),
        args={
            **PAGE_ARGS,
            "direction": graphene.Argument(
                TransactionDirection, default_value="ALL", description="Sent, received, or both (default)."
            ),
            "status": graphene.Argument(TransactionStatus, description="Only transactions with this status."),
            "type": graphene.Argument(TransactionTypeEnum, description="Only transactions of this type."),
            "order_by": graphene.Argument(TransactionOrder, description="Default: createdAt ASC (oldest first)."),
        },
        resolver=resolve_account_transactions,
        description="Transactions this account takes part in. Default order: createdAt ASC.",
    ),
    entries=graphene.Field(
        graphene.NonNull(EntryConnection),
        args={
            **PAGE_ARGS,
            "since": graphene.Argument(DateTime, description="Only entries posted at or after this instant."),
            "until": graphene.Argument(DateTime, description="Only entries posted at or before this instant."),
            "direction": graphene.Argument(
                OrderDirection,
                default_value="ASC",
                description="ASC (default): oldest entry first; DESC: newest first.",
            ),
        },
        resolver=resolve_account_entries,
        description="The statement: this account's ledger entries in posting order, each with its running balance.",
    ),
)
# They read entries and transactions: an account reader without transactions.view_transaction gets FORBIDDEN.
restrict_fields(AccountType, VIEW_TRANSACTION, "balanceAt", "entries", "transactions")
