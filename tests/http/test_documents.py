"""The per-process document cache and the latency histogram's labels."""

from __future__ import annotations

import json

import pytest
from graphql import DocumentNode
from prometheus_client import REGISTRY

from core.graphql.documents import DocumentCache
from core.metrics import OperationNames
from ledger_project.views import LedgerGraphQLView
from tests.http.conftest import Api, codes, without_cost
from tests.http.throwaway import schema

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.http.throwaway")]

RULES = tuple(LedgerGraphQLView.validation_rules)


def cached(query: str) -> DocumentNode | None:
    entry = LedgerGraphQLView.documents.entries.get((schema.graphql_schema, RULES, query))
    return entry.document if entry else None


def test_a_document_is_parsed_and_validated_once_per_process(throwaway: Api) -> None:
    query = "query Once($n: Int!) { echo(n: $n) }"
    assert without_cost(throwaway.post(query, {"n": 1}).json()) == {"data": {"echo": 1}}
    first = cached(query)
    assert first is not None
    assert without_cost(throwaway.post(query, {"n": 2}).json()) == {"data": {"echo": 2}}
    assert cached(query) is first  # the same AST, not a new parse


def test_a_cached_invalid_document_answers_the_same_errors_each_time(throwaway: Api) -> None:
    for _ in range(2):
        response = throwaway.post("{ notAField }")
        assert codes(response) == ["GRAPHQL_VALIDATION_FAILED"]
        assert "notAField" in response.json()["errors"][0]["message"]


def test_the_cache_is_bounded_by_entries_and_by_text() -> None:
    documents = DocumentCache(max_entries=3, max_query_chars=40, max_total_chars=60)
    graphql_schema = schema.graphql_schema
    queries = ["{ hello }", "{ echo(n: 1) }", "{ echo(n: 2) }", "{ echo(n: 3) }"]
    for query in queries:
        assert documents.get(graphql_schema, query, RULES).document is not None
    assert [key[2] for key in documents.entries] == queries[1:]  # the least recently used went first
    documents.get(graphql_schema, queries[1], RULES)  # used again: now the most recent
    long = "{ " + "hello " * 6 + "}"
    assert len(long) <= 40
    documents.get(graphql_schema, long, RULES)
    assert documents.total_chars <= 60
    assert [key[2] for key in documents.entries][-1] == long
    assert queries[1] in [key[2] for key in documents.entries]
    too_long = "{ " + "hello " * 10 + "}"
    assert documents.get(graphql_schema, too_long, RULES).document is not None  # answered, never kept
    assert too_long not in [key[2] for key in documents.entries]


def test_requests_are_timed_by_operation_with_bounded_names(throwaway: Api) -> None:
    def count(kind: str, name: str) -> float:
        return (
            REGISTRY.get_sample_value(
                "ledger_graphql_request_seconds_count", {"operation_type": kind, "operation": name}
            )
            or 0.0
        )

    before = count("query", "Greeting"), count("query", "anonymous"), count("mutation", "Touching")
    throwaway.post("query Greeting { hello }")
    throwaway.post_raw(json.dumps({"query": "query Greeting { hello }", "operationName": "Greeting"}))
    throwaway.post("{ hello }")
    throwaway.post('mutation Touching { touch(label: "metrics") { done } }')
    after = count("query", "Greeting"), count("query", "anonymous"), count("mutation", "Touching")
    assert [b - a for a, b in zip(before, after, strict=True)] == [2, 1, 1]


def test_operation_name_labels_are_short_identifiers_and_few() -> None:
    names = OperationNames(limit=2)
    assert names.label(None) == "anonymous"
    assert names.label("x" * 65) == "anonymous"
    assert names.label("not an identifier") == "anonymous"
    assert [names.label(n) for n in ("A", "B", "C", "A")] == ["A", "B", "other", "A"]
