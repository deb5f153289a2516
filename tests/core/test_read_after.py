"""Read-your-writes: a mutation hands back its commit position; queries read the standby only when safe.

Real settings in a fresh process with DATABASE_REPLICA_URL set, both aliases on
the test database (a primary: it has replayed everything), told apart by the
alias whose session ran the account query. The standby's waiting and lag
against a real standby are proven by ``make test-ha``.
"""

from __future__ import annotations

import pytest

from core.replica import parse_token
from tests.core.replica_probe import run_probe

PROBE = """
import json, django
django.setup()
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client
from access.services import api_key_create

_, token = api_key_create(user=User.objects.create_superuser("probe-read-after"))
auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
for alias in ("default", "replica"):
    connections[alias].force_debug_cursor = True
client = Client()

def post(query, **headers):
    body = json.dumps({"query": query})
    response = client.post("/graphql", body, content_type="application/json", secure=True, **auth, **headers)
    readers = [
        alias for alias in ("default", "replica")
        if any('FROM "accounts_account"' in q["sql"] for q in connections[alias].queries)  # this request's
    ]
    return response, readers

opened, _ = post('mutation { createAccount(input: {name: "Probe", document: "529.982.247-25"}) { account { id } } }')
page = "{ accounts(first: 5) { edges { node { name } } } }"
result = {
    "status": opened.status_code,
    "readAfter": opened.json().get("extensions", {}).get("readAfter"),
    "header": opened.get("Ledger-Read-After"),
}
answer, result["with_token"] = post(page, HTTP_LEDGER_READ_AFTER=result["header"])
result["names"] = [edge["node"]["name"] for edge in answer.json()["data"]["accounts"]["edges"]]
result["query_header"] = answer.get("Ledger-Read-After")
_, result["without_token"] = post(page)
_, result["malformed_token"] = post(page, HTTP_LEDGER_READ_AFTER="0/0; DROP TABLE x")
print(json.dumps(result))
"""


def probe(**env: str) -> dict[str, object]:
    return run_probe(PROBE, **env)


@pytest.mark.postgres_only
@pytest.mark.usefixtures("live_db")
def test_a_mutation_hands_back_its_commit_position_and_a_query_with_it_reads_the_standby() -> None:
    result = probe()
    assert result["status"] == 200
    assert parse_token(str(result["readAfter"])) == result["readAfter"] == result["header"]
    assert result["with_token"] == ["replica"]
    names = result["names"]
    assert isinstance(names, list) and "Probe" in names  # its own write, read on the standby
    assert result["query_header"] is None  # only writes hand out a position
    assert result["without_token"] == ["replica"]  # caught up: lag 0
    assert result["malformed_token"] == ["replica"]  # ignored, like no token


@pytest.mark.postgres_only
@pytest.mark.usefixtures("live_db")
def test_queries_without_a_token_read_the_primary_when_the_standby_lags_too_much() -> None:
    result = probe(LEDGER_REPLICA_MAX_LAG_MS="0")  # no lag is under 0 ms
    assert result["without_token"] == ["default"]
    assert result["with_token"] == ["replica"]  # the token is checked, not the lag


def test_tokens_are_pg_lsn_values_or_nothing() -> None:
    assert parse_token("16/B374D848") == "16/B374D848"
    assert parse_token(" 0/1a ") == "0/1A"
    for bad in ("", None, "16", "16/", "x/1", "1/2/3", "0/0; DROP", "123456789/0"):
        assert parse_token(bad) is None, bad
