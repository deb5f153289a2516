"""An HTTP client with a real API key, as a banking app would hold one."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from access.services import api_key_create
from core.logging import JsonFormatter, RequestIdFilter

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


class Api:
    """POSTs GraphQL as JSON with the key in ``Authorization``; ``path`` picks the endpoint."""

    def __init__(self, client: Client, token: str | None, path: str = "/graphql") -> None:
        self.client, self.token, self.path = client, token, path

    @property
    def auth(self) -> dict[str, Any]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}

    def post(self, query: str, variables: dict[str, Any] | None = None, **headers: Any) -> Any:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return self.post_raw(json.dumps(body), **headers)

    def post_raw(self, body: str | bytes, content_type: str = "application/json", **headers: Any) -> Any:
        return self.client.post(self.path, body, content_type=content_type, **{**self.auth, **headers})

    def get(self, params: dict[str, str], **headers: Any) -> Any:
        return self.client.get(self.path, params, **{**self.auth, **headers})

    def data(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        response = self.post(query, variables)
        assert response.status_code == 200, response.content
        body = response.json()
        assert "errors" not in body, body
        return body["data"]


COST_KEYS = {
    "depth", "maxDepth", "nodes", "maxNodes", "statements", "maxStatements",
    "fields", "maxFields", "introspection", "maxIntrospection",
}  # fmt: skip


def without_cost(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` less the ``extensions.cost`` every measured response carries (its values: tests/http/test_cost.py)."""
    body = dict(body)
    extensions = dict(body.pop("extensions"))
    cost = extensions.pop("cost")
    assert set(cost) == COST_KEYS and all(isinstance(value, int) for value in cost.values()), cost
    if extensions:
        body["extensions"] = extensions
    return body


def codes(response: Any) -> list[str]:
    """The ``extensions.code`` of each top-level error."""
    return [error["extensions"]["code"] for error in response.json()["errors"]]


@pytest.fixture
def throwaway(superuser: User) -> Api:
    """The client for tests.http.throwaway's schema (mark the test with its urls)."""
    _, token = api_key_create(user=superuser)
    return Api(Client(), token)


def user_with(*perms: str) -> User:
    user = User.objects.create_user(f"u{User.objects.count()}")
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return user


@pytest.fixture(autouse=True)
def plain_http(settings: Any) -> None:
    """Production settings redirect to HTTPS; the test client speaks plain HTTP to the app itself."""
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the GraphQL view and Django's request logger write, as the production JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(name) for name in ("ledger.graphql", "django.request")]
    for logger in loggers:
        logger.addHandler(handler)
    yield stream
    for logger in loggers:
        logger.removeHandler(handler)


def log_records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]
