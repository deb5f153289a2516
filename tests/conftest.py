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
