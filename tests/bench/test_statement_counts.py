"""The benchmark's smoke version: SQL statements per operation, so that a change adding a round trip fails here.

Speed stays in ``make bench``; this counts what each request sends PostgreSQL
(``bench.statements``: psycopg's ``BEGIN`` aside), through the whole stack
with a real API key and real commits. The numbers are exact on purpose: a
lower one is a win to record here and in bench/RESULTS.md.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User

from access.services import api_key_create
from bench import statements
from core.graphql.node import global_id
from tests.factories import make_account

pytestmark = [pytest.mark.postgres_only, pytest.mark.usefixtures("live_db")]


@pytest.fixture
def token(settings: Any) -> str:
    settings.SECURE_SSL_REDIRECT = False
    token = api_key_create(user=User.objects.create_superuser("bench-counts", password="x"))[1]
    statements.warm(token)  # the page costs its 1 statement: the key comes from the cache
    return token


@pytest.fixture
def ids() -> list[str]:
    return [global_id("Account", make_account(10_000_000).pk) for _ in range(10)]


def test_a_transfer_is_three_statements(token: str, ids: list[str]) -> None:
    counted, data = statements.post(token, statements.TRANSFER, {"a": ids[0], "b": ids[1]})
    assert data["createTransaction"]["transaction"]["status"] == "COMPLETED"
    # the lock of both accounts with the new pk drawn, the one write statement, COMMIT (the key: access.keycache)
    assert counted.statements == 3, str(counted)
    assert counted.copies == []


def test_a_batch_of_100_is_five_statements(token: str, ids: list[str]) -> None:
    counted, data = statements.post(token, statements.BATCH, {"items": statements.batch_items(ids, 100)})
    assert [r["transaction"]["status"] for r in data["createTransactions"]["results"]] == ["COMPLETED"] * 100
    # the lock with all 100 pks drawn, COPY transactions, COPY entries, the write statement, COMMIT
    assert counted.statements == 5, str(counted)
    assert len(counted.copies) == 2


def test_a_fifty_row_page_with_both_parties_is_one_statement(token: str, ids: list[str]) -> None:
    statements.post(token, statements.BATCH, {"items": statements.batch_items(ids, 60)})
    counted, data = statements.post(token, statements.PAGE, {"after": None})
    assert len(data["transactions"]["edges"]) == 50
    assert counted.statements == 1, str(counted)  # the page with both parties joined


def test_a_statement_page_is_two_statements(token: str, ids: list[str]) -> None:
    statements.post(token, statements.BATCH, {"items": statements.batch_items(ids[:2], 60)})
    counted, data = statements.post(token, statements.STATEMENT, {"id": ids[1]})
    assert len(data["account"]["entries"]["edges"]) == 50
    assert counted.statements == 2, str(counted)  # the account; its entries
