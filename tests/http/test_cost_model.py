"""The cost model on the ledger's schema: what reaches the database costs, lists multiply, introspection counts.

Each test here is an instance of a way around the old estimate (issue 9, class
3): a request the limits refuse before anything runs, and its legitimate
neighbour, which passes and is told its cost in ``extensions.cost``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from graphql import (
    GraphQLList,
    GraphQLObjectType,
    get_introspection_query,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_composite_type,
    parse,
)

from access.services import api_key_create
from accounts.models import Account
from core.graphql import cost
from core.graphql.node import global_id
from ledger_project.schema import schema
from tests.factories import make_account
from tests.graphql.conftest import Gql
from tests.http.conftest import Api, codes, user_with
from transactions import services
from transactions.models import Entry, Transaction
from transactions.services import TransferSpec, transaction_reverse, transfer_create

pytestmark = pytest.mark.django_db

DAY = "2020-01-01T00:00:00+00:00"


def refused(response: Any, measure: str) -> int:
    """The measure's estimate in a QUERY_TOO_COMPLEX refusal (nothing executed: no `data`)."""
    assert response.status_code == 200, response.content
    body = response.json()
    assert codes(response) == ["QUERY_TOO_COMPLEX"] and "data" not in body, body
    extensions = body["errors"][0]["extensions"]
    limit = f"max{measure[0].upper()}{measure[1:]}"
    assert measure in extensions and extensions[measure] > extensions[limit], extensions
    return extensions[measure]


def cost_of(response: Any) -> dict[str, int]:
    """The cost echoed by a response that executed without errors."""
    assert response.status_code == 200, response.content
    body = response.json()
    assert "errors" not in body, body
    return body["extensions"]["cost"]


def aliased(count: int, selection: str) -> str:
    return "{ " + " ".join(f"a{i}: {selection}" for i in range(count)) + " }"


@pytest.fixture
def pair(settlement: Account) -> tuple[Account, Account]:
    return make_account(10_000), make_account(0)


# --- every field that reaches the database costs ----------------------------------------------


def test_800_aliases_of_an_empty_page_with_its_count_are_refused_before_anything_runs(
    api: Api, django_assert_num_queries: Any
) -> None:
    page = f'transactions(first: 0, createdAfter: "{DAY}") {{ totalCount }}'
    one = cost_of(api.post(aliased(1, page)))
    assert (one["nodes"], one["statements"]) == (0, 2 + 10)  # an empty page still runs; its count counts rows
    with django_assert_num_queries(1):  # the key; none of the 800 pages, none of the 800 counts
        assert refused(api.post(aliased(800, page)), "statements") == 800 * 12
    with django_assert_num_queries(1):
        refused(api.post(aliased(50, page)), "statements")
    with django_assert_num_queries(1):
        assert refused(api.post(aliased(300, "accounts(first: 0) { totalCount }")), "statements") == 600


@pytest.mark.parametrize(
    ("selection", "variables"),
    [
        ('account(id: "QWNjb3VudDox") { id }', ""),
        ('node(id: "QWNjb3VudDox") { id }', ""),
        ('transaction(id: "VHJhbnNhY3Rpb246MQ==") { id }', ""),
        ('account(id: "QWNjb3VudDox") { __typename }', ""),
        ("nodes(ids: $ids) { id }", "query($ids: [ID!]!) "),  # a variable: 4,000 inline lists are over 50,000 tokens
    ],
)
def test_4000_aliased_lookups_are_refused_before_anything_runs(
    api: Api, selection: str, variables: str, django_assert_num_queries: Any
) -> None:
    ids = {"ids": ["QWNjb3VudDox"]} if variables else None
    assert cost_of(api.post(variables + aliased(1, selection), ids))["statements"] >= 1
    with django_assert_num_queries(1):  # the key only
        refused(api.post(variables + aliased(600, selection), ids), "statements")
    if selection in ('account(id: "QWNjb3VudDox") { id }', 'node(id: "QWNjb3VudDox") { id }'):  # the 4 s
        with django_assert_num_queries(1):
            assert refused(api.post(variables + aliased(4_000, selection), ids), "statements") == 4_000


def test_a_count_the_counters_cannot_answer_costs_ten(api: Api, pair: tuple[Account, Account]) -> None:
    """Unfiltered, a totalCount reads a counter kept with each write; filtered, it counts rows."""
    account = global_id("Account", pair[0].pk)
    costs = {
        "transactions(first: 0) { totalCount }": 2 + 1,
        "transactions(first: 0, status: COMPLETED) { totalCount }": 2 + 10,
        f'transactions(first: 0, accountId: "{account}") {{ totalCount }}': 2 + 1,
        'accounts(first: 0, search: "Cliente") { totalCount }': 1 + 10,
        "accounts(first: 0) { totalCount }": 1 + 1,
        f'account(id: "{account}") {{ entries(first: 0, since: "{DAY}") {{ totalCount }} }}': 1 + 1 + 10,
        f'account(id: "{account}") {{ transactions(first: 0, type: PIX) {{ pageInfo {{ hasNextPage }} }} }}': 1 + 2 + 1,
    }
    for selection, statements in costs.items():
        assert cost_of(api.post("{ " + selection + " }"))["statements"] == statements, selection
    filtered = "query($s: TransactionStatus) { transactions(first: 0, status: $s) { totalCount } }"
    assert cost_of(api.post(filtered, {"s": None}))["statements"] == 3  # a null variable is no filter
    assert cost_of(api.post(filtered, {"s": "FAILED"}))["statements"] == 12


def test_fields_of_one_object_that_read_the_database_cost_each(api: Api, pair: tuple[Account, Account]) -> None:
    account = global_id("Account", pair[0].pk)
    balances = " ".join(f'b{i}: balanceAt(at: "{DAY}")' for i in range(600))
    refused(api.post(f'{{ account(id: "{account}") {{ {balances} }} }}'), "statements")
    counts = " ".join(f"t{i}: transactions(first: 0) {{ totalCount }}" for i in range(200))
    refused(api.post(f'{{ account(id: "{account}") {{ {counts} }} }}'), "statements")
    few = " ".join(f'b{i}: balanceAt(at: "{DAY}")' for i in range(3))
    assert cost_of(api.post(f'{{ account(id: "{account}") {{ {few} }} }}'))["statements"] == 4


def test_a_field_asked_of_a_whole_page_costs_once_per_page_not_per_row(api: Api, pair: tuple[Account, Account]) -> None:
    """Loaders fetch a relation for every row of a page in one statement: so does the estimate count it."""
    query = "{ transactions(first: 100) { edges { node { sender { name } receiver { name } entries { amount } } } } }"
    estimate = cost_of(api.post(query))
    assert (estimate["nodes"], estimate["statements"]) == (100 + 100 * (1 + 1 + 2), 2 + 3)
    nested = (
        "{ accounts(first: 50) { edges { node { transactions(first: 10) { edges { node { sender { id } } } } } } } }"
    )
    assert cost_of(api.post(nested))["statements"] == 1 + 2 + 50  # the page of accounts, their lists, each sender


def test_the_estimate_is_an_upper_bound_of_the_statements_run(api: Api, pair: tuple[Account, Account]) -> None:
    sender, receiver = pair
    for _ in range(10):
        make_account(0)
        transfer_create(spec=TransferSpec(sender.pk, receiver.pk, 100, "PIX"))
    queries = [
        "{ transactions(first: 5) { totalCount pageInfo { hasNextPage hasPreviousPage } edges { node { "
        'sender { name balanceAt(at: "2100-01-01T00:00:00Z") } entries { account { id } transaction { id } } } } } }',
        "{ accounts(first: 5) { totalCount edges { node { transactions(first: 2, status: COMPLETED) { totalCount "
        "edges { node { receiver { entries(first: 2) { edges { node { amount } } } } } } } } } } }",
        # Each account's and each transaction's audit trail is its own page (a JSONB containment per owner).
        "{ accounts(first: 10) { edges { node { auditEvents(first: 2) { totalCount pageInfo { hasNextPage } "
        "edges { node { action } } } } } } }",
        "{ transactions(first: 10) { edges { node { auditEvents(last: 2) { totalCount pageInfo { hasPreviousPage } "
        "edges { node { action } } } } } } }",
    ]
    for query in queries:
        with CaptureQueriesContext(connection) as ran:
            estimate = cost_of(api.post(query))
        statements = [q for q in ran.captured_queries if "statement_timeout" not in q["sql"]]
        assert len(statements) - 1 <= estimate["statements"], (query, estimate)  # less the key's lookup


# --- lists multiply by their bound ----------------------------------------------------------


def specs(count: int, sender: str, receiver: str) -> list[dict[str, str]]:
    return [{"senderAccount": sender, "receiverAccount": receiver, "amount": "0.01", "type": "PIX"}] * count


FAN_OUT = (
    "mutation($specs: [TransactionSpec!]!) { createTransactions(input: {transactions: $specs}) { results { "
    "transaction { sender { transactions(first: 99) { edges { node { receiver { transactions(first: 99) { edges "
    "{ node { id } } } } } } } } } } } }"
)


def test_a_batch_s_results_multiply_what_each_selects_and_nothing_is_moved(
    api: Api, pair: tuple[Account, Account]
) -> None:
    sender, receiver = (global_id("Account", a.pk) for a in pair)
    before = Transaction.objects.count()
    # Each result: its sender, a page of 99, and each row's receiver with its page of 99.
    assert refused(api.post(FAN_OUT, {"specs": specs(20, sender, receiver)}), "nodes") == 20 * (1 + 99 + 99 * 100)
    assert Transaction.objects.count() == before
    small = "mutation($specs: [TransactionSpec!]!) { createTransactions(input: {transactions: $specs}) " + (
        "{ results { transaction { sender { transactions(first: 5) { edges { node { id } } } } } } } }"
    )
    assert cost_of(api.post(small, {"specs": specs(20, sender, receiver)}))["nodes"] == 20 * (1 + 5)
    spec = f'{{senderAccount: "{sender}", receiverAccount: "{receiver}", amount: 1, type: PIX}}'
    inline = small.replace("($specs: [TransactionSpec!]!)", "").replace("$specs", f"[{spec}, {spec}, {spec}]")
    assert cost_of(api.post(inline))["nodes"] == 3 * (1 + 5)  # a literal list counts its items too


def test_an_unknown_batch_length_counts_as_the_largest_batch() -> None:
    assert cost.MAX_LIST == services.MAX_BATCH
    document = parse(
        "mutation($input: CreateTransactionsInput!) { createTransactions(input: $input) { results { index } } }"
    )
    operation = get_operation_ast(document)
    assert operation is not None
    estimate = cost.estimate_cost(schema.graphql_schema, document, operation, {"input": {}})
    assert isinstance(estimate, cost.Cost) and estimate.fields == 1 + 1 + cost.MAX_LIST


def test_a_transaction_s_entries_count_two(api: Api) -> None:
    query = "{ transactions(first: 50) { edges { node { entries { account { transactions(first: %d) { totalCount } } } } } } }"  # noqa: E501
    assert cost_of(api.post(query % 50))["nodes"] == 50 + 50 * (2 + 2 * (1 + 50))
    assert refused(api.post(query % 99), "nodes") == 50 + 50 * (2 + 2 * (1 + 99))  # 5,050 if entries were one


def test_aliased_scalars_under_a_full_page_are_refused_by_fields(api: Api) -> None:
    """9,900 nodes pass the node limit; 21 aliases of a 500-character field on each would be ~100 MB."""
    query = "{ accounts(first: 100) { edges { node { transactions(first: 98) { edges { node { %s } } } } } } }"
    assert cost_of(api.post(query % "id description"))["nodes"] == 100 + 100 * 98
    aliases = " ".join(f"d{i}: description" for i in range(21))
    assert refused(api.post(query % aliases), "fields") > 100 * 98 * 21


# --- introspection is counted -----------------------------------------------------------------


def key_without_permissions(settlement: Account) -> Api:
    _, token = api_key_create(user=user_with())
    return Api(Client(), token)


def test_introspection_fan_out_is_refused_even_for_a_key_without_permissions(settlement: Account) -> None:
    api = key_without_permissions(settlement)
    # Shapes graphql-core's own introspection depth rule lets through (at most two nested `fields`).
    fan_out = "__schema { types { fields { type { ofType { fields { type { ofType { name } } } } } } } }"
    assert cost_of(api.post(aliased(1, fan_out)))["introspection"] > 500
    refused(api.post(aliased(30, fan_out)), "introspection")
    shallow = "__schema { types { fields { type { fields { name } } } } }"
    refused(api.post(aliased(30, shallow)), "introspection")
    by_name = '__type(name: "Mutation") { fields { args { type { ofType { inputFields { name type { name } } } } } } }'
    refused(api.post(aliased(500, by_name)), "introspection")
    fragments = " ".join(f"fragment F{i} on __Type {{ ...F{i + 1} ...F{i + 1} }}" for i in range(30))
    spread = "{ __schema { types { ...F0 } } } " + fragments + " fragment F30 on __Type { name }"
    refused(api.post(spread), "introspection")


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"descriptions": True, "specified_by_url": True, "directive_is_repeatable": True, "schema_description": True},
        {"input_value_deprecation": True, "schema_description": True},
    ],
)
def test_the_standard_introspection_query_passes_and_costs_what_it_answers(
    settlement: Account, options: dict[str, bool]
) -> None:
    api = key_without_permissions(settlement)
    response = api.post(get_introspection_query(**options))
    estimate = cost_of(response)

    def values(node: Any) -> int:
        if isinstance(node, dict):
            return sum(1 + values(child) for child in node.values())
        if isinstance(node, list):
            return sum(values(child) if isinstance(child, dict | list) else 1 for child in node)
        return 0

    answered = values(response.json()["data"])
    assert estimate["fields"] == answered  # the estimate is exact: its lists are the schema's own
    assert estimate["introspection"] == answered - 1  # all but the `__schema` key
    assert estimate["introspection"] * 2 < estimate["maxIntrospection"]  # room for the schema to grow


# --- the echo ---------------------------------------------------------------------------------


def test_every_measured_response_echoes_its_cost(api: Api, pair: tuple[Account, Account]) -> None:
    response = api.post("{ accounts(first: 10) { totalCount edges { node { id name balance availableBalance } } } }")
    assert response.json()["extensions"] == {
        "cost": {
            "depth": 4,
            "maxDepth": 12,
            "nodes": 10,
            "maxNodes": 10_000,
            "statements": 2,
            "maxStatements": 500,
            "fields": 3 + 10 * (1 + 4),
            "maxFields": 200_000,
            "introspection": 0,
            "maxIntrospection": 10_000,
        }
    }
    refusal = api.post("{ accounts(first: 100) { edges { node { transactions(first: 100) { totalCount } } } } }")
    assert refusal.json()["extensions"]["cost"]["nodes"] == 10_100  # a refusal says what it measured too


# --- the table of database fields is complete ---------------------------------------------------


def database_fixture() -> dict[str, str]:
    """One of each object, so every relation has something to load."""
    sender, receiver = make_account(10_000), make_account(0)
    moved = transfer_create(spec=TransferSpec(sender.pk, receiver.pk, 100, "PIX")).transaction
    assert moved is not None
    transaction_reverse(transaction_id=moved.pk)
    return {
        "account": global_id("Account", sender.pk),
        "transaction": global_id("Transaction", moved.pk),
        "entry": global_id("Entry", Entry.objects.filter(transaction=moved).first().pk),  # type: ignore[union-attr]
    }


# Where an object of each type is found, "%s" standing for the selection on it.
PLACES = {
    "Query": "%s",
    "Account": 'account(id: "{account}") { %s }',
    "Transaction": 'transaction(id: "{transaction}") { %s }',
    "Entry": 'node(id: "{entry}") { ... on Entry { %s } }',
    "AccountConnection": "accounts(first: 2) { %s }",
    "AccountEdge": "accounts(first: 2) { edges { %s } }",
    "TransactionConnection": "transactions(first: 2) { %s }",
    "TransactionEdge": "transactions(first: 2) { edges { %s } }",
    "EntryConnection": 'account(id: "{account}") { entries(first: 2) { %s } }',
    "EntryEdge": 'account(id: "{account}") { entries(first: 2) { edges { %s } } }',
    "PageInfo": 'transactions(first: 1, after: "{cursor}") { pageInfo { %s } }',
    "AuditEvent": "auditEvents(first: 2) { edges { node { %s } } }",
    "AuditEventConnection": "auditEvents(first: 2) { %s }",
}
ARGUMENTS = {
    ("Query", "account"): '(id: "{account}")',
    ("Query", "transaction"): '(id: "{transaction}")',
    ("Query", "node"): '(id: "{entry}")',
    ("Query", "nodes"): '(ids: ["{account}", "{transaction}", "{entry}"])',
    ("Account", "balanceAt"): f'(at: "{DAY}")',
}


def fill(template: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        template = template.replace("{" + name + "}", value)
    return template


def test_every_field_that_reaches_the_database_is_in_the_table(superuser: User) -> None:
    ids = database_fixture()
    first = Gql(superuser)("{ transactions(first: 1) { edges { cursor } } }")
    ids["cursor"] = first["transactions"]["edges"][0]["cursor"]
    graphql_schema = schema.graphql_schema
    checked = set()
    for type_name, place in PLACES.items():
        object_type = graphql_schema.type_map[type_name]
        assert isinstance(object_type, GraphQLObjectType)
        for name, definition in object_type.fields.items():
            child = get_named_type(definition.type)
            arguments = ARGUMENTS.get((type_name, name), "")
            selection = " { __typename }" if is_composite_type(child) else ""
            if name in ("transactions", "entries", "accounts") and "first" in definition.args:
                arguments, selection = "(first: 2)", " { totalCount }"
            with_field = "{ " + fill(place % f"{name}{arguments}{selection}", ids) + " }"
            without = "{ " + fill(place % "__typename", ids) + " }"
            counts = []
            for query in (without, with_field):
                with CaptureQueriesContext(connection) as ran:
                    result = Gql(superuser).result(query)
                assert not result.errors, (query, result.errors)
                counts.append(len(ran.captured_queries))
            if counts[1] > counts[0]:
                assert (type_name, name) in cost.DATABASE_FIELDS, f"{type_name}.{name} runs SQL: add it to the table"
            checked.add((type_name, name))
    for type_name, name in cost.DATABASE_FIELDS:  # no stale entries
        assert (type_name, name) in checked, (type_name, name)
    assert len(checked) > 50


def test_every_list_of_the_schema_has_a_bound() -> None:
    graphql_schema = schema.graphql_schema
    for type_name, named in graphql_schema.type_map.items():
        if type_name.startswith("__") or not isinstance(named, GraphQLObjectType):
            continue
        for name, definition in named.fields.items():
            if not isinstance(get_nullable_type(definition.type), GraphQLList):
                continue
            item = get_named_type(definition.type).name
            bounded = (
                (name == "edges" and type_name.endswith("Connection"))
                or "ids" in definition.args
                or (type_name, name) in cost.LIST_BOUNDS
                or (type_name, name) in cost.INPUT_BOUNDS
                or item in cost.ITEM_BOUNDS
            )
            assert bounded, f"{type_name}.{name} is a list without a bound in core/graphql/cost.py"
