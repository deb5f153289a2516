"""trusted-documents.md, Requests and Modes: the three forms, one store, the two modes, their error codes."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import Account
from tests.http.conftest import GRAPHQL_RESPONSE_JSON, Api, codes
from tests.trusted.conftest import ACCOUNTS, CREATE_ACCOUNT, stored
from trusted.models import TrustedDocument, document_hash
from trusted.services import document_revoke
from trusted.store import store

pytestmark = pytest.mark.django_db


def post(api: Api, body: dict[str, Any], **headers: Any) -> Any:
    return api.post_raw(json.dumps(body), **headers)


def forms(sha256: str) -> list[dict[str, Any]]:
    """The three ways a client names a document."""
    return [
        {"documentId": f"sha256:{sha256}"},
        {"doc_id": sha256},
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256}}},
    ]


def test_the_hash_is_the_sha256_of_the_exact_text_in_lower_case_hex() -> None:
    assert document_hash("{ __typename }") == hashlib.sha256(b"{ __typename }").hexdigest()
    assert document_hash("{ é }") == hashlib.sha256("{ é }".encode()).hexdigest()  # UTF-8, as Node hashes it
    assert document_hash("{ __typename }") != document_hash("{__typename}")  # exact text: no normalizing


@pytest.mark.parametrize("form", range(3))
def test_each_form_runs_a_stored_document_by_post(api: Api, form: int) -> None:
    document = stored(ACCOUNTS)
    response = post(api, {**forms(document.sha256)[form], "variables": {"n": 1}})
    assert response.status_code == 200, response.content
    assert response.json()["data"]["accounts"]["totalCount"] == 1  # the settlement account


@pytest.mark.parametrize("form", range(3))
def test_each_form_runs_a_stored_query_by_get(api: Api, form: int) -> None:
    document = stored(ACCOUNTS)
    params = {
        key: json.dumps(value) if isinstance(value, dict) else value
        for key, value in forms(document.sha256)[form].items()
    }
    response = api.get({**params, "variables": json.dumps({"n": 1})})
    assert response.status_code == 200, response.content
    assert response.json()["data"]["accounts"]["totalCount"] == 1


def test_the_three_forms_share_one_store_and_its_usage_count(api: Api) -> None:
    document = stored(ACCOUNTS)
    for body in forms(document.sha256):
        assert "errors" not in post(api, body).json()
    store.flush()
    document.refresh_from_db()
    assert (TrustedDocument.objects.count(), document.use_count) == (1, 3)
    assert document.last_used_at is not None


def test_a_mutation_by_hash_must_be_posted(api: Api) -> None:
    document = stored(CREATE_ACCOUNT)
    response = api.get({"documentId": f"sha256:{document.sha256}"})
    assert response.status_code == 405 and codes(response) == ["METHOD_NOT_ALLOWED"]


@pytest.mark.parametrize("mode", ["open", "trusted"])
def test_an_unknown_hash_answers_persisted_query_not_found(api: Api, settings: Any, mode: str) -> None:
    settings.LEDGER_DOCUMENTS = mode
    sha256 = document_hash("{ __typename }")
    for body in forms(sha256):
        response = post(api, body)
        assert (response.status_code, codes(response)) == (200, ["PERSISTED_QUERY_NOT_FOUND"])
        assert "data" not in response.json()
    response = post(api, forms(sha256)[0], HTTP_ACCEPT=GRAPHQL_RESPONSE_JSON)
    assert (response.status_code, codes(response)) == (400, ["PERSISTED_QUERY_NOT_FOUND"])


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"documentId": "abc"}, "documentId"),
        ({"documentId": "sha256:" + "A" * 64}, "lower-case"),
        ({"doc_id": 12}, "doc_id"),
        ({"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "a" * 64}}}, "version"),
        ({"documentId": "sha256:" + "a" * 64, "doc_id": "b" * 64}, "two different"),
        ({"documentId": "sha256:" + "a" * 64, "query": "{ __typename }"}, "not both"),
    ],
)
def test_a_malformed_name_is_a_bad_request(api: Api, body: dict[str, Any], says: str) -> None:
    response = post(api, body)
    assert (response.status_code, codes(response)) == (400, ["BAD_REQUEST"])
    assert says in response.json()["errors"][0]["message"]


# --- open mode ---------------------------------------------------------------------------------------------


def test_open_mode_runs_any_text(api: Api) -> None:
    assert api.data(ACCOUNTS, {"n": 1})["accounts"]["totalCount"] == 1
    assert not TrustedDocument.objects.exists()  # text alone registers nothing


def test_open_mode_registers_apollo_hash_plus_text_and_runs_it(api: Api) -> None:
    sha256 = document_hash(ACCOUNTS)
    response = post(api, {"query": ACCOUNTS, **forms(sha256)[2], "variables": {"n": 1}})
    assert response.json()["data"]["accounts"]["totalCount"] == 1
    document = TrustedDocument.objects.get()
    assert (document.sha256, document.text, document.client) == (sha256, ACCOUNTS, "apq")
    again = post(api, {**forms(sha256)[0], "variables": {"n": 1}})  # now known by hash, in any form
    assert again.json()["data"]["accounts"]["totalCount"] == 1


def test_a_hash_that_is_not_the_texts_is_a_bad_request_and_registers_nothing(api: Api) -> None:
    response = post(api, {"query": ACCOUNTS, **forms(document_hash("{ __typename }"))[2]})
    assert (response.status_code, codes(response)) == (400, ["BAD_REQUEST"])
    assert not TrustedDocument.objects.exists()


def test_open_mode_does_not_register_a_text_that_does_not_validate(api: Api) -> None:
    text = "{ noSuchField }"
    response = post(api, {"query": text, **forms(document_hash(text))[2]})
    assert codes(response) == ["GRAPHQL_VALIDATION_FAILED"]
    assert not TrustedDocument.objects.exists()


# --- trusted mode ------------------------------------------------------------------------------------------


@pytest.fixture
def trusted(settings: Any) -> None:
    settings.LEDGER_DOCUMENTS = "trusted"


@pytest.mark.usefixtures("trusted")
def test_trusted_mode_refuses_text_that_is_not_stored_and_runs_nothing(api: Api) -> None:
    before = Account.objects.count()
    response = api.post(CREATE_ACCOUNT, {"name": "Mallory", "document": "52998224725"})
    assert (response.status_code, codes(response)) == (200, ["PERSISTED_QUERY_NOT_ALLOWED"])
    assert "data" not in response.json()
    assert Account.objects.count() == before
    strict = api.post(CREATE_ACCOUNT, {"name": "Mallory", "document": "52998224725"}, HTTP_ACCEPT=GRAPHQL_RESPONSE_JSON)
    assert (strict.status_code, codes(strict)) == (403, ["PERSISTED_QUERY_NOT_ALLOWED"])
    assert Account.objects.count() == before


@pytest.mark.usefixtures("trusted")
def test_trusted_mode_registers_nothing_from_apollo(api: Api) -> None:
    response = post(api, {"query": ACCOUNTS, **forms(document_hash(ACCOUNTS))[2]})
    assert codes(response) == ["PERSISTED_QUERY_NOT_ALLOWED"]
    assert not TrustedDocument.objects.exists()


@pytest.mark.usefixtures("trusted")
def test_trusted_mode_runs_stored_documents_by_hash_and_by_their_exact_text(api: Api) -> None:
    stored(ACCOUNTS)
    assert post(api, {**forms(document_hash(ACCOUNTS))[1], "variables": {"n": 1}}).json()["data"]["accounts"]
    assert api.data(ACCOUNTS, {"n": 1})["accounts"]["totalCount"] == 1
    respaced = ACCOUNTS.replace("{ ", "{")
    assert codes(api.post(respaced, {"n": 1})) == ["PERSISTED_QUERY_NOT_ALLOWED"]


@pytest.mark.usefixtures("trusted")
def test_trusted_mode_refuses_text_on_every_path(api: Api, superuser: User) -> None:
    """GET, POST, a session: the check is in the one function every request passes (trusted.gate)."""
    assert codes(api.get({"query": ACCOUNTS})) == ["PERSISTED_QUERY_NOT_ALLOWED"]
    assert codes(api.post(ACCOUNTS)) == ["PERSISTED_QUERY_NOT_ALLOWED"]
    session = Client()
    session.force_login(superuser)
    assert codes(Api(session, None).get({"query": ACCOUNTS})) == ["PERSISTED_QUERY_NOT_ALLOWED"]


@pytest.mark.usefixtures("trusted")
def test_a_key_made_for_any_document_may_send_text_but_registers_nothing(tool: Api) -> None:
    assert tool.data(ACCOUNTS, {"n": 1})["accounts"]["totalCount"] == 1
    response = post(tool, {"query": ACCOUNTS, **forms(document_hash(ACCOUNTS))[2], "variables": {"n": 1}})
    assert response.json()["data"]["accounts"]["totalCount"] == 1
    assert not TrustedDocument.objects.exists()


# --- revocation --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["open", "trusted"])
def test_a_revoked_document_is_refused_by_hash_at_once_in_the_revoking_process(
    api: Api, settings: Any, mode: str, django_capture_on_commit_callbacks: Any
) -> None:
    settings.LEDGER_DOCUMENTS = mode
    settings.LEDGER_DOCUMENTS_RECHECK_SECONDS = 3600
    document = stored(ACCOUNTS)
    assert "errors" not in post(api, forms(document.sha256)[0]).json()
    with django_capture_on_commit_callbacks(execute=True):
        assert document_revoke(document=document)
    for body in forms(document.sha256):
        assert codes(post(api, body)) == ["PERSISTED_QUERY_NOT_ALLOWED"]


def test_a_revocation_by_another_process_is_seen_within_the_recheck_interval(api: Api, settings: Any) -> None:
    settings.LEDGER_DOCUMENTS_RECHECK_SECONDS = 3600
    document = stored(ACCOUNTS)
    assert "errors" not in post(api, forms(document.sha256)[0]).json()
    TrustedDocument.objects.filter(pk=document.pk).update(revoked_at="2026-01-01T00:00:00Z")  # another process
    assert "errors" not in post(api, forms(document.sha256)[0]).json()  # within the interval, this process ran it
    store.entries[document.sha256].checked_at -= 3600  # the interval passes
    assert codes(post(api, forms(document.sha256)[0])) == ["PERSISTED_QUERY_NOT_ALLOWED"]
