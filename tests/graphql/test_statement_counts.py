"""The statement counts docs/API.md states, measured on the real schema (a superuser: permissions cost nothing).

A page and the relations asked of its rows cost a constant, whatever the page
size: transactions join their parties, a relation of a page's rows is loaded
for the whole page at once (``core.graphql.loaders``). A relation asked of the
rows of a *nested* list is loaded once per list, so it grows with the outer
page: a limit the cost model counts (docs/HTTP.md, Statements), pinned here so
that a change to it is seen.
"""

from __future__ import annotations

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
