"""Query cost is bounded before execution: depth at most 12, at most 10,000 estimated nodes (GitHub-style).

The rest of the model (statements, fields, introspection) and its backstops: test_cost_model.py, test_backstops.py.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from graphql import get_introspection_query, parse, validate

from core.graphql.cost import cost_limit_rule
from tests.http.conftest import GRAPHQL_RESPONSE_JSON, Api, codes, without_cost
from tests.http.throwaway import schema

pytestmark = pytest.mark.django_db

throwaway_urls = pytest.mark.urls("tests.http.throwaway")


def deep(depth: int) -> str:
    """``{ root { child { ... { name } } } }`` with exactly ``depth`` nested fields."""
    return "{ root " + "{ child " * (depth - 2) + "{ name }" + " }" * (depth - 2) + " }"


def too_complex(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    assert codes(response) == ["QUERY_TOO_COMPLEX"]
    assert "data" not in response.json()
    return response.json()["errors"][0]["extensions"]


def passes(response: Any) -> None:
    assert response.status_code == 200, response.content
    assert "errors" not in response.json(), response.json()


# --- Depth ----------------------------------------------------------------------------------


@throwaway_urls
def test_depth_12_passes_and_13_is_refused(throwaway: Api) -> None:
    passes(throwaway.post(deep(12)))
    extensions = too_complex(throwaway.post(deep(13)))
    assert extensions == {"code": "QUERY_TOO_COMPLEX", "depth": 13, "maxDepth": 12}
    response = throwaway.post(deep(13), HTTP_ACCEPT=GRAPHQL_RESPONSE_JSON)
    assert response.status_code == 400 and codes(response) == ["QUERY_TOO_COMPLEX"]


@throwaway_urls
def test_depth_follows_fragments_and_inline_fragments(throwaway: Api) -> None:
    chain = (
        "{ root { ...A } }"
        " fragment A on Item { child { child { ...B } } }"
        " fragment B on Item { child { ... on Item { child { child { ...C } } } } }"
        " fragment C on Item { child { child { child { child { child { name } } } } } }"
    )
    passes(throwaway.post(chain))  # root, 2 + 3 + 5 children, name: 12
    assert too_complex(throwaway.post(chain.replace("{ name }", "{ child { name } }")))["depth"] == 13


@throwaway_urls
def test_typename_does_not_count_towards_depth(throwaway: Api) -> None:
    passes(throwaway.post(deep(12).replace("{ name }", "{ name __typename }")))


@throwaway_urls
def test_the_limit_is_a_setting(throwaway: Api, settings: Any) -> None:
    passes(throwaway.post(deep(5)))
    settings.LEDGER_MAX_DEPTH = 4
    too_complex(throwaway.post(deep(5)))


# --- Nodes ----------------------------------------------------------------------------------


@throwaway_urls
def test_nodes_are_summed_github_style(throwaway: Api) -> None:
    # 100 + 100 * 99 = 10,000: at the limit.
    passes(throwaway.post("{ items(first: 100) { items(first: 99) { name } } }"))
    # 100 + 100 * 100 = 10,100: over.
    extensions = too_complex(throwaway.post("{ items(first: 100) { items(first: 100) { name } } }"))
    assert extensions == {"code": "QUERY_TOO_COMPLEX", "nodes": 10_100, "maxNodes": 10_000}
    # Siblings add up: 100 + 100 * 50 and 100 + 100 * 51.
    siblings = (
        "{ a: items(first: 100) { items(first: 50) { name } } b: items(first: 100) { items(first: 51) { name } } }"
    )
    assert too_complex(throwaway.post(siblings))["nodes"] == 10_300


@throwaway_urls
def test_a_connection_without_first_or_last_counts_10_and_both_count_the_smaller(throwaway: Api) -> None:
    passes(throwaway.post("{ items { items { items { name } } } }"))  # 10 + 100 + 1,000
    assert too_complex(throwaway.post("{ items { items { items { items { name } } } } }"))["nodes"] == 11_110
    passes(throwaway.post("{ items(first: 100, last: 1) { items(first: 100, last: 99) { name } } }"))  # 1 + 99


@throwaway_urls
def test_page_sizes_come_from_variables_and_their_defaults(throwaway: Api) -> None:
    query = "query($n: Int = 100) { items(first: $n) { items(first: $n) { name } } }"
    too_complex(throwaway.post(query))
    too_complex(throwaway.post(query, {"n": 101}))
    passes(throwaway.post(query, {"n": 99}))
    null_means_default = "query($n: Int) { items(first: $n) { items(first: $n) { items(first: $n) { name } } } }"
    passes(throwaway.post(null_means_default, {"n": None}))  # 10 + 100 + 1,000


@throwaway_urls
def test_nodes_follow_fragments(throwaway: Api) -> None:
    hidden = (
        "{ ...Top }"
        " fragment Top on Query { items(first: 100) { ...Inner } }"
        " fragment Inner on Item { ... on Item { items(first: 100) { name } } }"
    )
    assert too_complex(throwaway.post(hidden))["nodes"] == 10_100


@throwaway_urls
def test_a_list_of_ids_counts_one_node_per_id(throwaway: Api) -> None:
    ids = [str(i) for i in range(100)]
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { items(first: 100) { name } } }"
    assert too_complex(throwaway.post(query, {"ids": ids}))["nodes"] == 10_100
    passes(throwaway.post(query, {"ids": ids[:50]}))


@throwaway_urls
def test_only_the_operation_that_runs_is_measured(throwaway: Api) -> None:
    document = "query Cheap { hello } query Costly { items(first: 100) { items(first: 100) { name } } }"
    response = throwaway.post_raw(json.dumps({"query": document, "operationName": "Cheap"}))
    assert without_cost(response.json()) == {"data": {"hello": "world"}}
    too_complex(throwaway.post_raw(json.dumps({"query": document, "operationName": "Costly"})))


@throwaway_urls
def test_a_fan_out_of_fragments_is_measured_in_linear_time(throwaway: Api) -> None:
    """30 fragments, each spreading the next twice: 2**30 paths, measured once per fragment."""
    fragments = " ".join(f"fragment F{i} on Item {{ ...F{i + 1} ...F{i + 1} }}" for i in range(30))
    document = "{ root { ...F0 } } " + fragments + " fragment F30 on Item { items(first: 1) { name } }"
    started = time.perf_counter()
    extensions = too_complex(throwaway.post(document))
    assert time.perf_counter() - started < 2
    assert extensions["nodes"] == 2**30


@throwaway_urls
def test_fragment_cycles_are_refused_without_hanging(throwaway: Api) -> None:
    started = time.perf_counter()
    response = throwaway.post("{ root { ...A } } fragment A on Item { child { ...B } } fragment B on Item { ...A }")
    assert codes(response) == ["GRAPHQL_VALIDATION_FAILED"]
    assert time.perf_counter() - started < 2


def test_the_cost_limits_are_also_a_graphql_core_rule() -> None:
    document = parse("query Big($n: Int) { items(first: $n) { items(first: $n) { name } } } query Small { hello }")
    graphql_schema = schema.graphql_schema
    (error,) = validate(graphql_schema, document, [cost_limit_rule({"n": 100}, "Big")])
    assert error.extensions == {"code": "QUERY_TOO_COMPLEX", "nodes": 10_100, "maxNodes": 10_000}
    assert validate(graphql_schema, document, [cost_limit_rule({"n": 100}, "Small")]) == []
    assert validate(graphql_schema, document, [cost_limit_rule({"n": 99}, "Big")]) == []


# --- The ledger's schema ------------------------------------------------------------------------

REVERSES = "{ transactions(first: 1) { edges { node { %s } } } }"


def reverses(levels: int) -> str:
    return REVERSES % ("reverses { " * levels + "id" + " }" * levels)


def test_the_ledger_refuses_depth_13(api: Api) -> None:
    passes(api.post(reverses(8)))  # transactions, edges, node, 8 x reverses, id: 12
    assert too_complex(api.post(reverses(9)))["depth"] == 13


def test_the_ledger_refuses_100_by_100_twice_and_runs_nothing(api: Api, django_assert_num_queries: Any) -> None:
    query = (
        "{ accounts(first: 100) { edges { node { "
        "transactions(first: 100) { edges { node { id } } } entries(first: 100) { edges { node { id } } } } } } }"
    )
    with django_assert_num_queries(1):  # the key; nothing of the query
        assert too_complex(api.post(query))["nodes"] == 20_100


def test_the_ledger_accepts_a_page_of_100_with_nested_pages_of_99(api: Api) -> None:
    passes(api.post("{ accounts(first: 100) { edges { node { transactions(first: 99) { totalCount } } } } }"))


@pytest.mark.parametrize(
    "options",
    [
        {},
        {
            "descriptions": True,
            "specified_by_url": True,
            "directive_is_repeatable": True,
            "schema_description": True,
            "input_value_deprecation": True,
        },
    ],
)
def test_the_standard_introspection_query_passes_on_the_ledger(api: Api, options: dict[str, bool]) -> None:
    response = api.post(get_introspection_query(**options))
    passes(response)
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"
