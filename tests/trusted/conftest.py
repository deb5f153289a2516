"""Trusted documents: a tool's key, a few stored documents, and a store that forgets between tests.

The bank's superuser and its ``api`` client are tests/conftest.py's, as in tests/http.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from access.services import api_key_create
from tests.http.conftest import Api
from trusted.models import TrustedDocument, document_hash
from trusted.store import store

ACCOUNTS = "query Accounts($n: Int) { accounts(first: $n) { totalCount edges { node { name } } } }"
TRANSFER = (
    "mutation Transfer($a: ID!, $b: ID!) { createTransaction(input: {senderAccount: $a, receiverAccount: $b, "
    'amount: "0.01", type: PIX}) { transaction { status } errors { code } } }'
)
CREATE_ACCOUNT = (
    "mutation Open($name: String!, $document: String!) { createAccount(input: {name: $name, document: $document}) "
    "{ account { name } errors { code } } }"
)


@pytest.fixture(autouse=True)
def fresh_store(settings: Any) -> Iterator[None]:
    """The store is per process; the database rolls back after each test, so the store must forget too."""
    settings.SECURE_SSL_REDIRECT = False
    store.clear()
    yield
    store.clear()


@pytest.fixture
def tool(superuser: User) -> Api:
    """An internal tool's key, made with --any-document."""
    _, token = api_key_create(user=superuser, any_document=True)
    return Api(Client(), token)


def stored(text: str, client: str = "test-app") -> TrustedDocument:
    return TrustedDocument.objects.create(sha256=document_hash(text), text=text, client=client)
