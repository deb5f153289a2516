"""trusted-documents.md, The store: a stored document is parsed, validated and cost-checked once per process.

The limits and the backstops still hold for every request.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from graphql_relay import to_global_id

from core.graphql.cost import estimate_cost
from ledger_project.views import LedgerGraphQLView
from tests.factories import make_account
from tests.http.conftest import Api, codes
from tests.trusted.conftest import ACCOUNTS, TRANSFER, stored
from trusted.store import store

pytestmark = pytest.mark.django_db


def by_hash(api: Api, sha256: str, variables: dict[str, Any]) -> Any:
    return api.post_raw(json.dumps({"documentId": f"sha256:{sha256}", "variables": variables})).json()


def test_a_stored_document_is_parsed_and_validated_once_per_process(api: Api) -> None:
    document = stored(ACCOUNTS)
    assert "errors" not in by_hash(api, document.sha256, {"n": 1})
    (first,) = store.entries[document.sha256].compiled.values()
    assert "errors" not in by_hash(api, document.sha256, {"n": 2})
    (again,) = store.entries[document.sha256].compiled.values()
    assert again.document is first.document  # the same AST: not parsed again
    assert not any(key[2] == ACCOUNTS for key in LedgerGraphQLView.documents.entries)  # the text cache never saw it


def test_a_transfers_cost_is_measured_once_whatever_its_accounts(api: Api) -> None:
    document = stored(TRANSFER)
    accounts = [make_account(balance=100) for _ in range(3)]
    ids = [to_global_id("Account", str(account.pk)) for account in accounts]
    costs = set()
    for sender, receiver in ((0, 1), (1, 2), (2, 0)):
        body = by_hash(api, document.sha256, {"a": ids[sender], "b": ids[receiver]})
        assert body["data"]["createTransaction"]["transaction"]["status"] == "COMPLETED", body
        costs.add(json.dumps(body["extensions"]["cost"]))
    assert len(store.entries[document.sha256].costs) == 1  # measured once, for three different transfers
    assert len(costs) == 1


def test_a_cost_that_depends_on_a_variable_is_measured_per_value(api: Api) -> None:
    document = stored(ACCOUNTS)
    small, large = by_hash(api, document.sha256, {"n": 1}), by_hash(api, document.sha256, {"n": 50})
    assert (small["extensions"]["cost"]["nodes"], large["extensions"]["cost"]["nodes"]) == (1, 50)
    assert by_hash(api, document.sha256, {"n": 1})["extensions"]["cost"]["nodes"] == 1  # from the memo, right
    assert by_hash(api, document.sha256, {})["extensions"]["cost"]["nodes"] == 10  # absent: the default page
    assert len(store.entries[document.sha256].costs) == 3


def test_the_memoized_cost_is_the_estimate(api: Api) -> None:
    document = stored(ACCOUNTS)
    by_hash(api, document.sha256, {"n": 7})
    stored_entry = store.entries[document.sha256]
    (compiled,) = stored_entry.compiled.values()
    assert compiled.document is not None
    operation = compiled.document.definitions[0]
    schema = next(iter(stored_entry.compiled))[0]
    assert list(stored_entry.costs.values()) == [estimate_cost(schema, compiled.document, operation, {"n": 7})]  # type: ignore[arg-type]


def test_the_cost_limits_hold_for_a_stored_document(api: Api, settings: Any) -> None:
    document = stored(ACCOUNTS)
    assert "errors" not in by_hash(api, document.sha256, {"n": 100})
    settings.LEDGER_MAX_NODES = 50
    body = by_hash(api, document.sha256, {"n": 100})
    assert [error["extensions"]["code"] for error in body["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert "data" not in body
    assert "errors" not in by_hash(api, document.sha256, {"n": 50})


def test_the_backstops_hold_for_a_stored_document(api: Api, settings: Any) -> None:
    document = stored(ACCOUNTS)
    settings.LEDGER_MAX_RESPONSE_BYTES = 20
    body = by_hash(api, document.sha256, {"n": 1})
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert body["errors"][0]["extensions"]["maxResponseBytes"] == 20


def test_a_stored_document_that_no_longer_validates_answers_its_errors(api: Api) -> None:
    document = stored("{ retiredField }")  # stored before a schema change removed the field
    response = api.post_raw(json.dumps({"documentId": f"sha256:{document.sha256}"}))
    assert codes(response) == ["GRAPHQL_VALIDATION_FAILED"]
