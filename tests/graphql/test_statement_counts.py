"""The statement counts docs/API.md states, measured on the real schema (a superuser: permissions cost nothing).

A page and the relations asked of its rows cost a constant, whatever the page
size: transactions join their parties, a relation of a page's rows is loaded
for the whole page at once (``core.graphql.loaders``). A relation asked of the
rows of a *nested* list is loaded once per list, so it grows with the outer
page: a limit the cost model counts (docs/HTTP.md, Statements), pinned here so
that a change to it is seen.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from tests.factories import make_account
from tests.graphql.conftest import Gql, gid
from transactions.models import Entry, Transaction
from transactions.services import TransferSpec, transfer_batch_create

pytestmark = pytest.mark.django_db

PARTIES = "{ transactions(first: %d) { edges { node { sender { name } receiver { name } } } } }"
NESTED_TRANSACTIONS = (
    "{ accounts(first: %d) { edges { node { transactions(first: 10) { edges { node { "
    "sender { name } receiver { name } } } } } } } }"
)
NESTED_ENTRY_RELATION = (
    "{ accounts(first: %d) { edges { node { entries(first: 10) { edges { node { transaction { amount } } } } } } } }"
)


@pytest.fixture
def busy(settlement: Account) -> list[Account]:
    accounts = [make_account(1_000_000) for _ in range(25)]
    specs = [
        TransferSpec(sender_id=accounts[i % 25].pk, receiver_id=accounts[(i + 1) % 25].pk, amount=100, type="PIX")
        for i in range(300)
    ]
    transfer_batch_create(specs=specs)
    return accounts


def statements(gql: Gql, query: str, **variables: Any) -> int:
    with CaptureQueriesContext(connection) as ran:
        gql(query, **variables)
    return len(ran.captured_queries)


@pytest.mark.usefixtures("busy")
@pytest.mark.parametrize("size", [10, 50])
def test_a_page_of_transactions_with_both_parties_is_one_statement(gql: Gql, size: int) -> None:
    assert statements(gql, PARTIES % size) == 1


@pytest.mark.usefixtures("busy")
@pytest.mark.parametrize("size", [5, 20])
def test_a_page_of_accounts_with_their_transactions_and_parties_is_three_statements(gql: Gql, size: int) -> None:
    # The accounts; each account's first page, sender side and receiver side, for the whole page at once.
    assert statements(gql, NESTED_TRANSACTIONS % size) == 3


def test_fifty_mixed_ids_are_at_most_three_statements(gql: Gql, busy: list[Account]) -> None:
    ids = [gid(a) for a in busy[:20]] + [gid(t) for t in Transaction.objects.all()[:20]]
    ids += [gid(e) for e in Entry.objects.all()[:10]]
    assert statements(gql, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids=ids) == 3  # one IN per type


@pytest.mark.usefixtures("busy")
@pytest.mark.parametrize("size", [5, 20])
def test_a_relation_of_a_nested_list_costs_one_statement_per_outer_row(gql: Gql, size: int) -> None:
    # The accounts; their entry pages (one windowed statement); then each account's entries are a
    # sibling group of their own: `transaction` is loaded once per account. A limit, not a goal.
    assert statements(gql, NESTED_ENTRY_RELATION % size) == 2 + size


# --- Issue 14: the feed and the filtered pages ---------------------------------------------------------

FEED_PAGE = (
    "{ ledgerFeed(first: 100) { edges { cursor node { amount sequence } } pageInfo { hasNextPage endCursor } } }"
)
FEED_PAGE_RELATIONS = (
    "{ ledgerFeed(first: 100) { edges { node { amount account { name } transaction { amount type } } } "
    "pageInfo { hasNextPage endCursor } } }"
)


def feed_ready(gql: Gql) -> None:
    """Waits until the feed shows a full page: it shows only finished transactions, the cluster's included."""
    for _ in range(3000):  # up to 300 s
        if len(gql(FEED_PAGE)["ledgerFeed"]["edges"]) == 100:
            return
        time.sleep(0.1)
    raise AssertionError("the feed never showed 100 entries")


# The feed shows finished transactions only: committed rows on PostgreSQL (SQLite's one writer is done).
COMMITTED = pytest.mark.django_db(transaction=connection.vendor == "postgresql")


@COMMITTED
def test_a_feed_page_of_100_is_one_statement(gql: Gql, busy: list[Account]) -> None:
    feed_ready(gql)
    assert statements(gql, FEED_PAGE) == 1  # the page and its hasNextPage row together


@COMMITTED
def test_a_feed_page_of_100_with_accounts_and_transactions_is_three_statements(gql: Gql, busy: list[Account]) -> None:
    feed_ready(gql)
    assert statements(gql, FEED_PAGE_RELATIONS) == 3  # the page; the accounts; the transactions


LABEL = [{"key": "batch", "value": "b-1"}]


@pytest.fixture
def labelled_busy(busy: list[Account]) -> list[Account]:
    Account.objects.filter(pk__in=[a.pk for a in busy[:10]]).update(metadata=LABEL)
    specs = [TransferSpec(busy[i].pk, busy[i + 1].pk, 100, "PIX", metadata=(("batch", "b-1"),)) for i in range(20)]
    transfer_batch_create(specs=specs)
    return busy


def test_a_page_of_accounts_filtered_by_metadata_with_its_total_is_two_statements(
    gql: Gql, labelled_busy: list[Account]
) -> None:
    query = (
        "query($m: [MetadataEntryInput!]) { accounts(first: 50, metadata: $m) { totalCount "
        "edges { node { name metadata { key value } } } } }"
    )
    assert statements(gql, query, m=LABEL) == 2  # the page; the COUNT


def test_a_page_of_transactions_filtered_by_metadata_with_parties_and_total_is_two_statements(
    gql: Gql, labelled_busy: list[Account]
) -> None:
    query = (
        "query($m: [MetadataEntryInput!]) { transactions(first: 50, metadata: $m) { totalCount "
        "edges { node { amount metadata { key } sender { name } receiver { name } } } } }"
    )
    assert statements(gql, query, m=LABEL) == 2  # the page with its parties joined; the COUNT
