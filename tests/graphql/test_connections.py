"""Relay connections: edges and exact pageInfo in every combination, cursors, page sizes, drift."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import Account
from tests.factories import make_account
from tests.graphql.conftest import Gql, gid
from transactions.services import TransferSpec, transfer_batch_create, transfer_create

pytestmark = pytest.mark.django_db

SIZES = [None, 0, 1, 2, 3, 7]
PAGE_FIELDS = "totalCount edges { cursor node { id } } pageInfo { hasPreviousPage hasNextPage startCursor endCursor }"
PAGE_VARS = "$first: Int, $last: Int, $after: String, $before: String"
PAGE_ARGS = "first: $first, last: $last, after: $after, before: $before"


def expected(
    n: int, first: int | None, last: int | None, after: int | None, before: int | None
) -> tuple[list[int], bool, bool]:
    """CONTRACT.md's definition written out over the indexes of L: (E, hasPreviousPage, hasNextPage)."""
    if first is None and last is None:
        first = 10
    window = [i for i in range(n) if (after is None or i > after) and (before is None or i < before)]
    prefix = window[:first] if first is not None else window
    edges = prefix if last is None else (prefix[max(0, len(prefix) - last) :] if last else [])
    if edges:
        start, end = edges[0], edges[-1] + 1
    elif first == 0 or not window:  # W's start: just after the `after` row, or the list's start
        start = end = (after + 1) if after is not None else 0
    else:  # where `last: 0` cut: the end of W's first `first` items
        start = end = prefix[-1] + 1
    return edges, start > 0, end < n


def check_every_combination(
    page: Callable[..., dict[str, Any]], ids: list[str], cursors: list[str], positions: list[int | None]
) -> int:
    """Compares ``page(first=, last=, after=, before=)`` with ``expected`` for every combination."""
    checked = 0
    for first, last, after, before in itertools.product(SIZES, SIZES, positions, positions):
        got = page(
            first=first,
            last=last,
            after=None if after is None else cursors[after],
            before=None if before is None else cursors[before],
        )
        want, want_previous, want_next = expected(len(ids), first, last, after, before)
        case = (first, last, after, before)
        assert [e["node"]["id"] for e in got["edges"]] == [ids[i] for i in want], case
        assert [e["cursor"] for e in got["edges"]] == [cursors[i] for i in want], case
        info = got["pageInfo"]
        assert (info["hasPreviousPage"], info["hasNextPage"]) == (want_previous, want_next), case
        assert info["startCursor"] == (cursors[want[0]] if want else None), case
        assert info["endCursor"] == (cursors[want[-1]] if want else None), case
        assert got["totalCount"] == len(ids), case
        checked += 1
    return checked


def test_accounts_by_name_match_the_contract_in_every_combination(gql: Gql) -> None:
    for name in ["Gil", "Bia", "Fábio", "Caio", "Eva", "Davi"]:
        make_account(0, name)
    query = (
        f"query({PAGE_VARS}) {{ accounts({PAGE_ARGS}, orderBy: {{field: NAME, direction: ASC}}) {{ {PAGE_FIELDS} }} }}"
    )
    everything = gql(query, first=100)["accounts"]
    ids = [e["node"]["id"] for e in everything["edges"]]
    assert len(ids) == 7  # with the settlement account
    cursors = [e["cursor"] for e in everything["edges"]]
    checked = check_every_combination(lambda **args: gql(query, **args)["accounts"], ids, cursors, [None, 0, 2, 3, 6])
    assert checked == 900


def test_transactions_newest_first_with_ties_match_the_contract_in_every_combination(gql: Gql) -> None:
    a, b = make_account(100_000), make_account(100_000)
    # One batch: one created_at for all six, so only the pk orders them (DESC too).
    transfer_batch_create(specs=[TransferSpec(a.pk, b.pk, i + 1, "PIX") for i in range(6)], atomic=False)
    query = f"""query({PAGE_VARS}) {{ transactions({PAGE_ARGS}, orderBy: {{field: CREATED_AT, direction: DESC}})
      {{ {PAGE_FIELDS} }} }}"""
    everything = gql(query, first=100)["transactions"]
    ids = [e["node"]["id"] for e in everything["edges"]]
    assert len(ids) == 8  # two initial deposits and the batch
    assert ids[:6] == [gid_of_tx(pk) for pk in sorted(_pks(ids[:6]), reverse=True)]
    cursors = [e["cursor"] for e in everything["edges"]]
    check_every_combination(lambda **args: gql(query, **args)["transactions"], ids, cursors, [None, 0, 3, 5, 7])


def test_one_accounts_transactions_both_sides_match_the_contract_in_every_combination(gql: Gql) -> None:
    a, b, c = make_account(100_000), make_account(100_000), make_account(100_000)
    for sender, receiver in [(a, b), (b, a), (a, c), (c, a), (b, c), (a, b)]:
        transfer_create(spec=TransferSpec(sender.pk, receiver.pk, 100, "PIX"))
    query = (
        f"""query($id: ID!, {PAGE_VARS}) {{ account(id: $id) {{ transactions({PAGE_ARGS}) {{ {PAGE_FIELDS} }} }} }}"""
    )
    everything = gql(query, id=gid(a), first=100)["account"]["transactions"]
    ids = [e["node"]["id"] for e in everything["edges"]]
    assert len(ids) == 6  # its deposit, five transfers
    cursors = [e["cursor"] for e in everything["edges"]]
    check_every_combination(
        lambda **args: gql(query, id=gid(a), **args)["account"]["transactions"], ids, cursors, [None, 0, 2, 5]
    )


def test_a_statement_newest_first_matches_the_contract_in_every_combination(gql: Gql) -> None:
    a, b = make_account(100_000), make_account(100_000)
    for i in range(4):
        transfer_create(spec=TransferSpec(a.pk, b.pk, 100 + i, "PIX"))
    query = f"""query($id: ID!, {PAGE_VARS}) {{ account(id: $id) {{
      entries({PAGE_ARGS}, direction: DESC) {{ {PAGE_FIELDS} edges {{ node {{ sequence }} }} }} }} }}"""
    everything = gql(query, id=gid(a), first=100)["account"]["entries"]
    assert [e["node"]["sequence"] for e in everything["edges"]] == [5, 4, 3, 2, 1]
    ids, cursors = [e["node"]["id"] for e in everything["edges"]], [e["cursor"] for e in everything["edges"]]
    check_every_combination(
        lambda **args: gql(query, id=gid(a), **args)["account"]["entries"], ids, cursors, [None, 0, 2, 4]
    )


def test_nested_pages_loaded_for_a_page_of_accounts_equal_each_accounts_own(gql: Gql) -> None:
    accounts = [make_account(100_000) for _ in range(5)]
    for i in range(24):
        transfer_create(spec=TransferSpec(accounts[i % 5].pk, accounts[(i + 2) % 5].pk, i + 1, "PIX"))
    alone_query = f"""query($id: ID!, $direction: TransactionDirection, $order: OrderDirection!) {{ account(id: $id) {{
      transactions(first: 100, direction: $direction, orderBy: {{field: CREATED_AT, direction: $order}}) {{
        {PAGE_FIELDS} }} }} }}"""
    batched_query = f"""query({PAGE_VARS}, $direction: TransactionDirection, $order: OrderDirection!) {{
      accounts(first: 10) {{ edges {{ node {{ id transactions({PAGE_ARGS}, direction: $direction,
        orderBy: {{field: CREATED_AT, direction: $order}}) {{ {PAGE_FIELDS} }} }} }} }} }}"""
    for direction, order in itertools.product(["ALL", "SENT", "RECEIVED"], ["ASC", "DESC"]):
        lists = {}
        for account in accounts:
            whole = gql(alone_query, id=gid(account), direction=direction, order=order)["account"]["transactions"]
            lists[gid(account)] = whole
        for first, last in itertools.product(SIZES, SIZES):
            page = gql(batched_query, first=first, last=last, direction=direction, order=order)
            for edge in page["accounts"]["edges"][1:]:  # the settlement account first, with no transfers
                whole = lists[edge["node"]["id"]]
                ids = [e["node"]["id"] for e in whole["edges"]]
                want, want_previous, want_next = expected(len(ids), first, last, None, None)
                got = edge["node"]["transactions"]
                case = (direction, order, first, last)
                assert [e["node"]["id"] for e in got["edges"]] == [ids[i] for i in want], case
                assert [e["cursor"] for e in got["edges"]] == [whole["edges"][i]["cursor"] for i in want], case
                assert got["pageInfo"]["hasPreviousPage"] == want_previous, case
                assert got["pageInfo"]["hasNextPage"] == want_next, case
                assert got["totalCount"] == whole["totalCount"] == len(ids), case


def raw_cursor(content: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(content).encode()).decode()


def gid_of_tx(pk: int) -> str:
    from core.graphql.node import global_id

    return global_id("Transaction", pk)


def _pks(ids: list[str]) -> list[int]:
    from graphql_relay import from_global_id

    return [int(from_global_id(i)[1]) for i in ids]


# --- page sizes and cursors ---------------------------------------------------------------


ACCOUNTS_PAGE = "query($first: Int, $last: Int, $after: String, $before: String) { accounts(first: $first, " + (
    "last: $last, after: $after, before: $before) { edges { cursor } } }"
)


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [({"first": -1}, "first"), ({"first": 101}, "first"), ({"last": -1}, "last"), ({"last": 101}, "last")],
)
def test_a_page_size_outside_0_to_100_is_a_bad_user_input_naming_it(
    gql: Gql, arguments: dict[str, int], argument: str
) -> None:
    result = gql.result(ACCOUNTS_PAGE, **arguments)
    assert result.data is None  # the field is non-null: no data for it
    (error,) = result.errors or []
    assert error.extensions == {"code": "BAD_USER_INPUT", "argument": argument}
    assert argument in error.message


def test_page_sizes_0_and_100_are_allowed_and_10_is_the_default(gql: Gql) -> None:
    for _ in range(11):
        make_account(0)
    assert len(gql(ACCOUNTS_PAGE)["accounts"]["edges"]) == 10
    assert len(gql(ACCOUNTS_PAGE, first=100)["accounts"]["edges"]) == 12
    assert gql(ACCOUNTS_PAGE, first=0)["accounts"]["edges"] == []
    assert len(gql(ACCOUNTS_PAGE, last=100)["accounts"]["edges"]) == 12


def test_malformed_and_foreign_cursors_are_refused_naming_the_argument(gql: Gql) -> None:
    a, b = make_account(100), make_account(100)
    transaction_cursor = gql("{ transactions(first: 1) { edges { cursor } } }")["transactions"]["edges"][0]["cursor"]
    by_name = gql("{ accounts(first: 1, orderBy: {field: NAME, direction: ASC}) { edges { cursor } } }")
    name_cursor = by_name["accounts"]["edges"][0]["cursor"]
    entries = "query($id: ID!, $after: String) { account(id: $id) { entries(after: $after) { totalCount } } }"
    a_entry = gql("query($id: ID!) { account(id: $id) { entries { edges { cursor } } } }", id=gid(a))
    a_cursor = a_entry["account"]["entries"]["edges"][0]["cursor"]
    cases = [
        (ACCOUNTS_PAGE, {"after": transaction_cursor}, "after", "another connection"),
        (ACCOUNTS_PAGE, {"before": name_cursor}, "before", "another connection"),  # another order
        (ACCOUNTS_PAGE, {"after": "garbage!"}, "after", "not a valid cursor"),
        (ACCOUNTS_PAGE, {"before": "W10="}, "before", "not a valid cursor"),  # base64 of []
        (ACCOUNTS_PAGE, {"after": raw_cursor(["accounts:created_at:asc", [1, 2]])}, "after", "not a valid cursor"),
        (ACCOUNTS_PAGE, {"after": raw_cursor(["accounts:created_at:asc", ["2026-01-01T00:00", 2]])}, "after", "not a"),
        (
            ACCOUNTS_PAGE,
            {"after": raw_cursor(["accounts:created_at:asc", ["2026-01-01T00:00Z", True]])},
            "after",
            "not",
        ),
        (entries, {"id": gid(b), "after": a_cursor}, "after", "another connection"),  # another account's
    ]
    for query, variables, argument, message in cases:
        (error,) = gql.errors(query, **variables)
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}, variables
        assert message in error["message"], variables


# --- drift: keyset cursors neither repeat nor skip rows that existed ---------------------------


def test_paging_newest_first_while_transfers_arrive_sees_each_existing_transaction_once(gql: Gql) -> None:
    a, b = make_account(1_000_000), make_account(1_000_000)
    for _ in range(12):
        transfer_create(spec=TransferSpec(a.pk, b.pk, 1, "PIX"))
    newest_first = (
        "{ transactions(first: 100, orderBy: {field: CREATED_AT, direction: DESC}) { edges { node { id } } } }"
    )
    existing = [e["node"]["id"] for e in gql(newest_first)["transactions"]["edges"]]
    query = """query($after: String) { transactions(first: 5, after: $after,
      orderBy: {field: CREATED_AT, direction: DESC}) { edges { node { id } } pageInfo { hasNextPage endCursor } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = gql(query, after=after)["transactions"]
        seen += [e["node"]["id"] for e in page["edges"]]
        transfer_create(spec=TransferSpec(b.pk, a.pk, 1, "PIX"))  # a new one between pages
        transfer_create(spec=TransferSpec(a.pk, b.pk, 1, "TED"))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == existing  # each once, in order; the new ones sort before the cursor


def test_paging_accounts_by_name_while_names_arrive_in_the_middle_sees_each_once(gql: Gql) -> None:
    for name in ["Ana", "Bruno", "Carla", "Diego", "Elisa", "Fabio", "Gabi", "Heitor"]:
        make_account(0, name)
    query = """query($after: String, $first: Int) { accounts(first: $first, after: $after,
      orderBy: {field: NAME, direction: ASC}) { edges { node { name } } pageInfo { hasNextPage endCursor } } }"""
    existing = [e["node"]["name"] for e in gql(query, first=100)["accounts"]["edges"]]
    inserts = iter(["Aa", "Bz", "Cz", "Dz", "Ez", "Fz", "Gz", "Hz", "Iz"])
    seen: list[str] = []
    after = None
    while True:
        page = gql(query, after=after, first=3)["accounts"]
        seen += [e["node"]["name"] for e in page["edges"]]
        make_account(0, next(inserts))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert [name for name in seen if name in existing] == existing
    assert len(seen) == len(set(seen))


def test_settlement_account_is_account_0_and_first_in_creation_order(gql: Gql, settlement: Account) -> None:
    make_account(0, "Primeiro")
    edges = gql("{ accounts(first: 2) { edges { node { id kind name } } } }")["accounts"]["edges"]
    assert edges[0]["node"] == {"id": "QWNjb3VudDow", "kind": "SETTLEMENT", "name": settlement.name}
    assert edges[1]["node"]["name"] == "Primeiro"


def test_page_info_costs_its_exists_only_when_selected(gql: Gql, django_assert_num_queries: Any) -> None:
    """A page after a cursor needs an EXISTS for hasPreviousPage; a client that does not ask pays nothing for it."""
    a, b = make_account(1_000_000), make_account(1_000_000)
    for _ in range(6):
        transfer_create(spec=TransferSpec(a.pk, b.pk, 1, "PIX"))
    after = gql("{ transactions(first: 2) { pageInfo { endCursor } } }")["transactions"]["pageInfo"]["endCursor"]
    rows = "query($after: String) { transactions(first: 2, after: $after) { edges { node { id } } } }"
    flags = (
        "query($after: String) { transactions(first: 2, after: $after) "
        "{ edges { node { id } } pageInfo { hasPreviousPage hasNextPage } } }"
    )
    with django_assert_num_queries(1):
        assert len(gql(rows, after=after)["transactions"]["edges"]) == 2
    with django_assert_num_queries(2):  # the page, then EXISTS for the rows before the cursor
        info = gql(flags, after=after)["transactions"]["pageInfo"]
    assert info == {"hasPreviousPage": True, "hasNextPage": True}
