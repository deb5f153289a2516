"""A bearer request to the API skips the middleware that serves sessions (ledger_project.middleware).

Their work for such a request was pure cost (a lazy session nobody reads), so
the rule is checked where it lives: their hooks are not called; and
everywhere else (the admin, a session on the API) they run as before. From
outside nothing changes: no session read, no cookie or ``Vary: Cookie``.
"""

from __future__ import annotations

import json
from importlib import import_module
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import User
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import Client

from access.services import api_key_create
from accounts.models import Account
from tests.http.conftest import without_cost

QUERY = json.dumps({"query": "{ accounts(first: 1) { edges { node { id } } } }"})


# Not CSRF: Django's own class stays, which `check --deploy` asks for by name (docs/DECISIONS.md).
SKIPPED = (SessionMiddleware, AuthenticationMiddleware, MessageMiddleware)


@pytest.fixture
def hooks_run(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the session-serving middleware whose ``process_request`` ran."""
    ran: list[str] = []
    for middleware in SKIPPED:

        def spy(
            self: Any, request: Any, _original: Any = middleware.process_request, _name: str = middleware.__name__
        ) -> Any:
            ran.append(_name)
            return _original(self, request)

        monkeypatch.setattr(middleware, "process_request", spy)
    return ran


@pytest.fixture
def session_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every load of a session from its store, by any request."""
    loads: list[str] = []
    store = import_module(settings.SESSION_ENGINE).SessionStore
    original = store.load

    def spy(self: SessionBase) -> Any:
        loads.append(self.session_key or "")
        return original(self)

    monkeypatch.setattr(store, "load", spy)
    return loads


def test_a_bearer_request_runs_no_session_middleware_reads_no_session_and_answers_no_cookie(
    superuser: User, settlement: Account, session_reads: list[str], hooks_run: list[str]
) -> None:
    _, token = api_key_create(user=superuser)
    client = Client()
    client.force_login(superuser)  # a session cookie rides along; the key decides
    session_reads.clear()
    for path in ("/graphql", "/graphql/"):
        response = client.post(path, QUERY, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200, response.content
    assert hooks_run == []
    assert session_reads == []
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")
    assert response["X-Request-ID"] and response["X-Frame-Options"] == "DENY"  # the middleware kept still run


def test_a_session_request_to_the_api_still_runs_the_session_middleware(
    superuser: User, settlement: Account, session_reads: list[str], hooks_run: list[str]
) -> None:
    client = Client()
    client.force_login(superuser)
    session_reads.clear()
    response = client.post("/graphql", QUERY, content_type="application/json")
    assert response.status_code == 200 and "errors" not in without_cost(response.json())
    assert session_reads, "the session was not read"
    assert set(hooks_run) == {m.__name__ for m in SKIPPED}


def test_the_admin_keeps_its_session_with_an_authorization_header(superuser: User, hooks_run: list[str]) -> None:
    client = Client()
    client.force_login(superuser)
    response = client.get("/admin/", HTTP_AUTHORIZATION="Bearer anything")
    assert response.status_code == 200  # signed in through the session, not redirected to the login page
    assert set(hooks_run) == {m.__name__ for m in SKIPPED}
