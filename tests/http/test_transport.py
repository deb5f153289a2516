"""GraphQL over HTTP: methods, bodies, limits, media types and status codes, request IDs, GraphiQL.

Most of these run against tests.http.throwaway's schema, so that what they prove is the
transport and not the ledger's schema.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client, override_settings

from tests.http.conftest import GRAPHQL_RESPONSE_JSON, Api, codes, without_cost
from tests.http.throwaway import TOUCHED

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.http.throwaway")]


# --- Methods ------------------------------------------------------------------------------


def test_post_json_runs_a_query(throwaway: Api) -> None:
    response = throwaway.post("{ hello }")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert without_cost(response.json()) == {"data": {"hello": "world"}}


def test_get_runs_queries_with_variables_and_operation_name(throwaway: Api) -> None:
    response = throwaway.get(
        {"query": "query A { hello } query B($n: Int!) { echo(n: $n) }", "variables": '{"n": 7}', "operationName": "B"}
    )
    assert response.status_code == 200
    assert without_cost(response.json()) == {"data": {"echo": 7}}


def test_a_mutation_over_get_is_405_and_does_not_run(throwaway: Api) -> None:
    response = throwaway.get({"query": 'mutation { touch(label: "get") { done } }'})
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert codes(response) == ["METHOD_NOT_ALLOWED"]
    assert "get" not in TOUCHED


def test_a_mutation_over_post_runs(throwaway: Api) -> None:
    response = throwaway.post('mutation { touch(label: "post") { done } }')
    assert without_cost(response.json()) == {"data": {"touch": {"done": True}}}
    assert "post" in TOUCHED


@pytest.mark.parametrize("method", ["put", "patch", "delete", "head"])
def test_other_methods_are_405(throwaway: Api, method: str) -> None:
    response = getattr(throwaway.client, method)("/graphql", **throwaway.auth)
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST"
    if method != "head":
        assert codes(response) == ["METHOD_NOT_ALLOWED"]


# --- Bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        '{"query": "{ hello }"',  # truncated
        "",
        "[" * 100_000,  # deep enough to exhaust the JSON parser's recursion
        b'{"query": "{ hello }", "x": "\xc3\x28"}',  # not UTF-8
        '{"query": "{ hello }"}'.encode("utf-16"),  # JSON, but not in UTF-8
        "42",
        '"{ hello }"',
        "null",
        "{}",
        '{"variables": {}}',
        '{"query": ""}',
        '{"query": 42}',
        '{"query": {"obj": "ect"}}',
        '{"query": ["{ hello }"]}',
        '{"query": "{ hello }", "variables": "{}"}',
        '{"query": "{ hello }", "variables": [1]}',
        '{"query": "{ hello }", "operationName": 1}',
        '{"query": "{ hello }", "operationName": false}',
        '{"query": "{ hello }", "extensions": "x"}',
        '{"query": "{ hello }", "extensions": []}',
    ],
)
def test_a_body_that_is_not_a_graphql_request_is_400(throwaway: Api, body: str | bytes) -> None:
    response = throwaway.post_raw(body)
    assert response.status_code == 400, response.content
    assert codes(response) == ["BAD_REQUEST"]
    assert "data" not in response.json()


@pytest.mark.parametrize(
    "body",
    ['[{"query": "{ hello }"}]', '[{"query": "{ hello }"}, {"query": "{ hello }"}]', "[]"],
)
def test_batched_arrays_are_refused(throwaway: Api, body: str) -> None:
    response = throwaway.post_raw(body)
    assert response.status_code == 400
    assert codes(response) == ["BAD_REQUEST"]
    assert "Batched" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/graphql"])
def test_a_body_that_is_not_json_by_its_content_type_is_400(throwaway: Api, content_type: str) -> None:
    response = throwaway.post_raw('{"query": "{ hello }"}', content_type=content_type)
    assert response.status_code == 400
    assert codes(response) == ["BAD_REQUEST"]


def test_json_with_a_charset_is_accepted_and_null_optionals_are_fine(throwaway: Api) -> None:
    body = json.dumps({"query": "{ hello }", "variables": None, "operationName": None, "extensions": None})
    response = throwaway.post_raw(body, content_type="application/json; charset=utf-8")
    assert response.status_code == 200 and without_cost(response.json()) == {"data": {"hello": "world"}}
    with_extensions = throwaway.post_raw(json.dumps({"query": "{ hello }", "extensions": {"some": "value"}}))
    assert without_cost(with_extensions.json()) == {"data": {"hello": "world"}}


def test_bodies_over_one_mebibyte_are_413(throwaway: Api, settings: Any) -> None:
    limit = settings.LEDGER_MAX_BODY_BYTES
    assert limit == 1024 * 1024
    padding = " " * (limit - len('{"query": "{ hello }"}'))
    at_limit = '{"query": "{ hello }"' + padding + "}"
    assert len(at_limit) == limit
    assert without_cost(throwaway.post_raw(at_limit).json()) == {"data": {"hello": "world"}}
    over = '{"query": "{ hello }"' + padding + " }"
    response = throwaway.post_raw(over)
    assert response.status_code == 413
    assert codes(response) == ["PAYLOAD_TOO_LARGE"]


def test_the_declared_length_is_checked_before_reading_and_bounds_the_read(throwaway: Api) -> None:
    """A huge Content-Length is refused unread; a small one is all that is read (Django's WSGI stream stops there)."""
    declared_huge = throwaway.client.generic(
        "POST", "/graphql", b"{}", content_type="application/json", CONTENT_LENGTH=str(10**9), **throwaway.auth
    )
    assert declared_huge.status_code == 413
    assert codes(declared_huge) == ["PAYLOAD_TOO_LARGE"]
    body = b'{"query": "{ hello }", "pad": "' + b"x" * 2_000_000 + b'"}'
    declared_small = throwaway.client.generic(
        "POST", "/graphql", body, content_type="application/json", CONTENT_LENGTH="10", **throwaway.auth
    )
    assert declared_small.status_code == 400
    assert codes(declared_small) == ["BAD_REQUEST"]


def test_a_garbage_content_length_is_400_not_500(throwaway: Api) -> None:
    response = throwaway.client.generic(
        "POST", "/graphql", b'{"query": "{ hello }"}', content_type="application/json", **throwaway.auth
    )
    assert response.status_code == 200
    garbage = throwaway.client.generic(
        "POST",
        "/graphql",
        b'{"query": "{ hello }"}',
        content_type="application/json",
        CONTENT_LENGTH="abc",
        **throwaway.auth,
    )
    assert garbage.status_code == 400


def test_get_without_a_query_is_400_and_bad_variables_json_is_400(throwaway: Api) -> None:
    assert throwaway.get({}).status_code == 400
    response = throwaway.get({"query": "query($n: Int!) { echo(n: $n) }", "variables": "{nope"})
    assert response.status_code == 400
    assert codes(response) == ["BAD_REQUEST"]


# --- Media types and status codes -----------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON};q=0.9", "application/json"),
        (f"application/json;q=0.5, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON};charset=utf-8", GRAPHQL_RESPONSE_JSON),
        ("text/plain", "application/json"),
    ],
)
def test_the_response_media_type_follows_accept(throwaway: Api, accept: str | None, media: str) -> None:
    headers: dict[str, Any] = {"HTTP_ACCEPT": accept} if accept else {}
    response = throwaway.post("{ hello }", **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == f"{media}; charset=utf-8"


REQUEST_ERRORS = [
    ("{ hello", None, "GRAPHQL_PARSE_FAILED"),
    ("{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("query($n: Int!) { echo(n: $n) }", {"n": "ten"}, "GRAPHQL_VALIDATION_FAILED"),
    ("query($n: Int!) { echo(n: $n) }", {}, "GRAPHQL_VALIDATION_FAILED"),
    ("query A { hello } query B { hello }", None, "GRAPHQL_VALIDATION_FAILED"),  # which one?
]


@pytest.mark.parametrize(("query", "variables", "code"), REQUEST_ERRORS)
def test_request_errors_are_200_under_application_json(
    throwaway: Api, query: str, variables: dict | None, code: str
) -> None:
    response = throwaway.post(query, variables, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert codes(response) == [code]
    assert "data" not in response.json()


@pytest.mark.parametrize(("query", "variables", "code"), REQUEST_ERRORS)
def test_request_errors_are_400_under_graphql_response_json(
    throwaway: Api, query: str, variables: dict | None, code: str
) -> None:
    response = throwaway.post(query, variables, HTTP_ACCEPT=GRAPHQL_RESPONSE_JSON)
    assert response.status_code == 400
    assert response["Content-Type"] == f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
    assert codes(response) == [code]
    assert "data" not in response.json()


def test_field_errors_are_200_with_data_under_both_media_types(throwaway: Api) -> None:
    for accept in ("application/json", GRAPHQL_RESPONSE_JSON):
        response = throwaway.post("{ hello refusedInput }", HTTP_ACCEPT=accept)
        assert response.status_code == 200
        body = response.json()
        assert body["data"] == {"hello": "world", "refusedInput": None}
        assert codes(response) == ["BAD_USER_INPUT"]
        assert body["errors"][0]["extensions"]["argument"] == "first"


def test_an_unknown_operation_name_is_a_request_error(throwaway: Api) -> None:
    response = throwaway.post_raw(json.dumps({"query": "query A { hello }", "operationName": "B"}))
    assert response.status_code == 200
    assert codes(response) == ["GRAPHQL_VALIDATION_FAILED"]


def test_pretty_printing_on_request(throwaway: Api) -> None:
    response = throwaway.client.post(
        "/graphql?pretty=1", json.dumps({"query": "{ hello }"}), content_type="application/json", **throwaway.auth
    )
    text = response.content.decode()
    assert text == json.dumps(json.loads(text), indent=2)  # two-space indents, one key per line
    assert text.startswith('{\n  "data": {\n    "hello": "world"\n  },\n  "extensions": {\n    "cost": {\n')


# --- Request IDs ----------------------------------------------------------------------------


def test_every_response_carries_a_request_id(throwaway: Api) -> None:
    assert throwaway.post("{ hello }", HTTP_X_REQUEST_ID="trace-123")["X-Request-ID"] == "trace-123"
    minted = throwaway.post("{ hello }")["X-Request-ID"]
    assert len(minted) == 32 and minted != throwaway.post("{ hello }")["X-Request-ID"]
    # Refusals carry one too, and so does every other URL.
    assert Client().post("/graphql", "{}", content_type="application/json")["X-Request-ID"]
    assert Client().get("/healthz")["X-Request-ID"]


@pytest.mark.parametrize("incoming", ["a b", "x" * 65, "evil\u00e9", 'x"}, {"admin": true', ""])
def test_an_insane_incoming_request_id_is_replaced(throwaway: Api, incoming: str) -> None:
    response = throwaway.post("{ hello }", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] != incoming and len(response["X-Request-ID"]) == 32


# --- GraphiQL --------------------------------------------------------------------------------


@override_settings(LEDGER_GRAPHIQL=True)
def test_graphiql_is_served_from_local_assets_when_enabled() -> None:
    page = Client().get("/graphql", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert "graphiql" in html.lower()
    assert "/static/graphene_django_graphiql_static/graphiql.min.js" in html
    for cdn in ("unpkg.com", "cdn.jsdelivr", "cdnjs"):
        assert cdn not in html
    assert "csrftoken" in page.cookies  # its requests send it back as X-CSRFToken
    script = Client().get("/static/graphene_django_graphiql_static/graphiql.min.js")
    assert script.status_code == 200
    # Read to the end, as a server would: only then does the test client close the streamed file and send
    # request_finished, which unbinds this request's ID (left bound, it named later tests' audit events).
    assert b"".join(script)


@override_settings(DEBUG=True, LEDGER_GRAPHIQL=False)
def test_graphiql_is_served_in_debug() -> None:
    assert Client().get("/graphql", HTTP_ACCEPT="text/html").status_code == 200


@override_settings(DEBUG=False, LEDGER_GRAPHIQL=False)
def test_without_graphiql_an_html_get_is_a_plain_get(throwaway: Api) -> None:
    assert Client().get("/graphql", HTTP_ACCEPT="text/html").status_code == 401
    no_query = throwaway.client.get("/graphql", HTTP_ACCEPT="text/html", **throwaway.auth)
    assert no_query.status_code == 400
    assert codes(no_query) == ["BAD_REQUEST"]
    with_query = throwaway.client.get("/graphql", {"query": "{ hello }"}, HTTP_ACCEPT="text/html", **throwaway.auth)
    assert without_cost(with_query.json()) == {"data": {"hello": "world"}}


@override_settings(LEDGER_GRAPHIQL=True)
def test_graphiql_never_answers_json_clients_or_posts(throwaway: Api) -> None:
    assert without_cost(throwaway.get({"query": "{ hello }"}).json()) == {"data": {"hello": "world"}}
    assert without_cost(throwaway.post("{ hello }", HTTP_ACCEPT="text/html").json()) == {"data": {"hello": "world"}}
    raw = throwaway.client.get("/graphql", {"query": "{ hello }", "raw": ""}, HTTP_ACCEPT="text/html", **throwaway.auth)
    assert without_cost(raw.json()) == {"data": {"hello": "world"}}
