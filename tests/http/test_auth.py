"""Authentication before anything runs: API keys, sessions with CSRF, read-only keys, permissions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from access.services import api_key_create, api_key_revoke
from accounts.models import Account
from tests.http.conftest import GRAPHQL_RESPONSE_JSON, Api, codes, user_with, without_cost
from tests.http.throwaway import TOUCHED

pytestmark = pytest.mark.django_db

CREATE_ACCOUNT = 'mutation { createAccount(input: {name: "X", document: "52998224725"}) { errors { code } } }'


def refused(response: Any) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="ledger"'
    assert codes(response) == ["UNAUTHENTICATED"]
    assert "data" not in response.json()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer ldg_not-a-key"},
        {"HTTP_AUTHORIZATION": "Bearer "},
        {"HTTP_AUTHORIZATION": ""},
        {"HTTP_AUTHORIZATION": "Basic YmFuazp4"},
        {"HTTP_AUTHORIZATION": "Bearer " + "x" * 5000},
    ],
)
def test_missing_or_unknown_credentials_are_401_and_nothing_runs(settlement: Account, headers: dict) -> None:
    body = json.dumps({"query": CREATE_ACCOUNT})
    for accept in ("application/json", GRAPHQL_RESPONSE_JSON):
        refused(Client().post("/graphql", body, content_type="application/json", HTTP_ACCEPT=accept, **headers))
    refused(Client().get("/graphql", {"query": "{ accounts { totalCount } }"}, **headers))
    assert Account.objects.count() == 1  # the settlement account only


def test_authentication_comes_before_reading_the_body(settlement: Account) -> None:
    """No key, no work: the body is not parsed for an anonymous caller. Only its declared size is
    refused first (413), as a proxy's body limit would, which reveals nothing."""
    refused(Client().post("/graphql", "not json", content_type="application/json"))
    refused(Client().post("/graphql", '[{"query": "{ __typename }"}]', content_type="application/json"))
    too_large = Client().post("/graphql", "x" * (2 * 1024 * 1024), content_type="application/json")
    assert too_large.status_code == 413 and codes(too_large) == ["PAYLOAD_TOO_LARGE"]


@pytest.mark.urls("tests.http.throwaway")
def test_a_revoked_key_is_refused_on_its_next_request(superuser: User) -> None:
    key, token = api_key_create(user=superuser)
    api = Api(Client(), token)
    assert api.post("{ hello }").status_code == 200
    assert api_key_revoke(key=key) is True
    refused(api.post('mutation { touch(label: "revoked") { done } }'))
    assert "revoked" not in TOUCHED


@pytest.mark.urls("tests.http.throwaway")
def test_a_key_of_an_inactive_user_is_refused(superuser: User) -> None:
    _, token = api_key_create(user=superuser)
    superuser.is_active = False
    superuser.save(update_fields=["is_active"])
    refused(Api(Client(), token).post("{ hello }"))


@pytest.mark.urls("tests.http.throwaway")
def test_the_key_acts_as_its_user_in_one_statement(superuser: User, django_assert_num_queries: Any) -> None:
    _, token = api_key_create(user=superuser, read_only=True)
    api = Api(Client(), token)
    with django_assert_num_queries(1):  # the key joined with its user; a superuser needs no permission query
        data = api.data("{ whoami keyReadOnly }")
    assert data == {"whoami": "bank", "keyReadOnly": True}


@pytest.mark.urls("tests.http.throwaway")
def test_a_bad_key_wins_over_a_good_session(superuser: User) -> None:
    """A wrong Authorization header is never quietly replaced by the browser's session."""
    client = Client()
    client.force_login(superuser)
    assert without_cost(client.get("/graphql", {"query": "{ whoami }"}).json()) == {"data": {"whoami": "bank"}}
    refused(client.get("/graphql", {"query": "{ whoami }"}, HTTP_AUTHORIZATION="Bearer wrong"))


@pytest.mark.urls("tests.http.throwaway")
def test_a_session_needs_the_csrf_token_to_post(superuser: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    mutation = json.dumps({"query": 'mutation { touch(label: "no-csrf") { done } }'})
    response = client.post("/graphql", mutation, content_type="application/json")
    assert response.status_code == 403
    assert codes(response) == ["FORBIDDEN"]
    assert "no-csrf" not in TOUCHED
    wrong = client.post("/graphql", mutation, content_type="application/json", HTTP_X_CSRFTOKEN="x" * 32)
    assert wrong.status_code == 403

    # GraphiQL (or any page of the app) hands out the cookie; its value goes back in X-CSRFToken.
    with override_settings(LEDGER_GRAPHIQL=True):
        assert client.get("/graphql", HTTP_ACCEPT="text/html").status_code == 200
    token = client.cookies["csrftoken"].value
    ok = client.post(
        "/graphql",
        json.dumps({"query": 'mutation { touch(label: "with-csrf") { done } }'}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert ok.status_code == 200 and without_cost(ok.json()) == {"data": {"touch": {"done": True}}}
    assert "with-csrf" in TOUCHED


@pytest.mark.urls("tests.http.throwaway")
def test_a_session_may_query_over_get_without_a_token(superuser: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    response = client.get("/graphql", {"query": "{ whoami keyReadOnly }"})
    assert without_cost(response.json()) == {"data": {"whoami": "bank", "keyReadOnly": None}}


@pytest.mark.urls("tests.http.throwaway")
def test_a_logged_out_session_is_401(superuser: User) -> None:
    client = Client()
    client.force_login(superuser)
    client.logout()
    refused(client.get("/graphql", {"query": "{ hello }"}))


# --- What the key may do: the ledger's schema decides, with the key's flag and user ------------


def test_a_read_only_key_never_mutates_but_reads(superuser: User) -> None:
    _, token = api_key_create(user=superuser, read_only=True)
    api = Api(Client(), token)
    payload = api.data(CREATE_ACCOUNT)["createAccount"]
    assert payload["errors"][0]["code"] == "PERMISSION_DENIED"
    assert Account.objects.count() == 1
    assert api.data("{ accounts { totalCount } }")["accounts"]["totalCount"] == 1


def test_a_key_acts_with_its_users_permissions(settlement: Account) -> None:
    _, token = api_key_create(user=user_with("accounts.view_account"))
    api = Api(Client(), token)
    payload = api.data('mutation { createDeposit(input: {accountId: "QWNjb3VudDow", amount: 1}) { errors { code } } }')
    assert payload["createDeposit"]["errors"] == [{"code": "PERMISSION_DENIED"}]
    response = api.post("{ transactions { totalCount } }")
    assert response.status_code == 200
    assert codes(response) == ["FORBIDDEN"]
    assert api.data("{ accounts { totalCount } }")["accounts"]["totalCount"] == 1


def test_a_user_with_add_account_creates_through_its_key(settlement: Account) -> None:
    _, token = api_key_create(user=user_with("accounts.add_account", "accounts.view_account"))
    payload = Api(Client(), token).data(CREATE_ACCOUNT)["createAccount"]
    assert payload["errors"] == []
    assert Account.objects.count() == 2
