"""Every top-level error carries extensions.code; failures of ours are INTERNAL and leak nothing."""

from __future__ import annotations

import io
import json

import pytest
from graphql import get_introspection_query

from tests.http.conftest import GRAPHQL_RESPONSE_JSON, Api, codes, log_records
from tests.http.throwaway import SECRET

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.http.throwaway")]


def leaks(body: object) -> bool:
    text = json.dumps(body)
    return any(word in text for word in ("SELECT", "auth_user", "password", "Traceback", "RuntimeError", ".py"))


def test_a_resolver_that_raises_is_internal_and_the_detail_is_logged_with_the_request_id(
    throwaway: Api, log_lines: io.StringIO
) -> None:
    response = throwaway.post("{ hello boom }", HTTP_X_REQUEST_ID="req-boom-1")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"hello": "world", "boom": None}
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "INTERNAL"}
    assert error["path"] == ["boom"]
    assert "X-Request-ID" in error["message"]  # where to look; the ID itself is in the response header
    assert not leaks(body)
    logged = [line for line in log_records(log_lines) if line["logger"] == "ledger.graphql"]
    assert logged and all(line["request_id"] == "req-boom-1" for line in logged)
    assert SECRET in logged[0]["exception"] and "RuntimeError" in logged[0]["exception"]


def test_a_non_null_field_returning_null_is_internal(throwaway: Api) -> None:
    response = throwaway.post("{ neverNull }")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None  # the null propagated to the root: still a field error, not a request error
    assert codes(response) == ["INTERNAL"]
    assert "neverNull" not in body["errors"][0]["message"]
    graphql_response = throwaway.post("{ neverNull }", HTTP_ACCEPT=GRAPHQL_RESPONSE_JSON)
    assert graphql_response.status_code == 200 and graphql_response.json()["data"] is None


def test_a_failure_outside_any_resolver_is_internal(throwaway: Api, log_lines: io.StringIO) -> None:
    throwaway.path = "/crashing"
    response = throwaway.post("{ hello }")
    assert response.status_code == 200
    assert codes(response) == ["INTERNAL"]
    assert not leaks(response.json())
    # graphql-response+json has a status for "the server failed": 500, with the same coded body.
    response = throwaway.post("{ hello }", HTTP_ACCEPT=GRAPHQL_RESPONSE_JSON)
    assert response.status_code == 500
    assert codes(response) == ["INTERNAL"]
    assert any(SECRET in line.get("exception", "") for line in log_records(log_lines))


def test_django_permission_denied_is_forbidden_without_its_detail(throwaway: Api) -> None:
    response = throwaway.post("{ forbidden }")
    assert codes(response) == ["FORBIDDEN"]
    assert "auth_user" not in response.content.decode()


def test_codes_set_by_resolvers_are_kept(throwaway: Api) -> None:
    response = throwaway.post("{ refusedInput }")
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first"}
    assert error["message"] == "`first` must be between 0 and 100."


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{", None, "GRAPHQL_PARSE_FAILED"),
        ("{ hello " + "{ a " * 2000 + "}" * 2000 + " }", None, "GRAPHQL_PARSE_FAILED"),  # nested too deeply
        ("{" + " hello" * 60_000 + " }", None, "GRAPHQL_PARSE_FAILED"),  # too many tokens
        ("{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("{ echo }", None, "GRAPHQL_VALIDATION_FAILED"),
        ('{ echo(n: "x") }', None, "GRAPHQL_VALIDATION_FAILED"),
        ("query($n: Int!) { echo(n: $n) }", {"n": "ten"}, "GRAPHQL_VALIDATION_FAILED"),
        ("query($n: Int!) { echo(n: $n) }", {"n": None}, "GRAPHQL_VALIDATION_FAILED"),
        ("query($n: Int!) { echo(n: $n) }", {"n": 2**40}, "GRAPHQL_VALIDATION_FAILED"),
        ("fragment F on Query { ...G } fragment G on Query { ...F } { ...F }", None, "GRAPHQL_VALIDATION_FAILED"),
    ],
)
def test_request_errors_are_coded(throwaway: Api, query: str, variables: dict | None, code: str) -> None:
    response = throwaway.post(query, variables)
    assert response.status_code == 200
    assert set(codes(response)) == {code}
    assert "data" not in response.json()


def test_every_error_of_a_bad_document_is_coded_however_many(throwaway: Api) -> None:
    response = throwaway.post("{ " + " ".join(f"nope{i}" for i in range(150)) + " }")
    assert codes(response) and set(codes(response)) == {"GRAPHQL_VALIDATION_FAILED"}


def test_introspection_is_open_and_passes(throwaway: Api) -> None:
    response = throwaway.post(get_introspection_query(descriptions=True))
    assert response.status_code == 200
    assert "errors" not in response.json()
