"""Shared fixtures. Tests talk to the real database named by DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from access.keycache import KEYS
from access.services import api_key_create
from accounts.models import Account, AccountKind
from core.counters import ACCOUNTS, counter_add
from tests.http.conftest import Api

SETTLEMENT_DOCUMENT = "00000000000191"


@pytest.fixture
def ids_from_one() -> None:
    """For a ``reset_sequences`` test whose expected ids start at 1 (the README's, the seed's).

    reset_sequences restarts every sequence, core_counter's too. When such a test runs
    first, the counter rows the migration seeded are still there (later tests see them
    flushed), and the next counter insert would collide: start that sequence past them.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('core_counter', 'id'), COALESCE(MAX(id), 0) + 1, false) "
            "FROM core_counter"
        )


def ensure_settlement_account() -> Account:
    """The migration creates it; a transactional test's flush removes it, so put it back."""
    account, created = Account.objects.get_or_create(
        id=0,
        defaults={
            "kind": AccountKind.SETTLEMENT,
            "name": "Settlement",
            "document": SETTLEMENT_DOCUMENT,
            "document_type": "CNPJ",
        },
    )
    if created:
        counter_add(ACCOUNTS, 1)
    return account


@pytest.fixture(scope="session", autouse=True)
def key_cache_listener(django_db_setup: None) -> Iterator[None]:
    """The API key cache's listener (access.keycache) holds a session on the test database: closed before
    the database is dropped."""
    yield
    KEYS.stop()


@pytest.fixture
def settlement(db: None) -> Account:
    return ensure_settlement_account()


@pytest.fixture
def superuser(settlement: Account) -> User:
    return User.objects.create_superuser("bank", password="x")


@pytest.fixture
def api(superuser: User) -> Api:
    """The bank's own client over HTTP (tests/http, tests/trusted), with a key of the superuser."""
    _, token = api_key_create(user=superuser)
    return Api(Client(), token)


@pytest.fixture
def live_db(transactional_db: None) -> Iterator[None]:
    """Real commits, for tests with several threads or processes (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrency tests need PostgreSQL")  # the SQLite pass deselects them by marker
    ensure_settlement_account()
    yield
