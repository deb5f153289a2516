"""GraphiQL opens on a ledger query of ours; in development the dev key is in its Headers pane, never in production.

A visitor who is neither logged in nor holding the dev key is told how to
authenticate, on the page itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from access.models import ApiKey
from access.services import api_key_create, api_key_revoke
from ledger_project.views import GRAPHIQL_DEFAULT_QUERY

HTML = "text/html,application/xhtml+xml,*/*;q=0.8"
HINT = 'id="ledger-auth-hint"'

pytestmark = pytest.mark.django_db


def graphiql_settings(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="ledger-graphiql-settings" type="application/json">(.*?)</script>', html, re.S)
    assert found is not None, html
    return json.loads(found.group(1))


@pytest.fixture
def dev_key(settings: Any, tmp_path: Path) -> str:
    """The key ``make run`` keeps, for the 'dev' superuser, in a file of this test's own."""
    user = User.objects.create_superuser("dev", "dev@example.com", "dev")
    _, token = api_key_create(user=user, name="make run")
    path = tmp_path / ".dev-api-key"
    path.write_text(token + "\n")
    settings.LEDGER_DEV_KEY_FILE = str(path)
    return token


def page(client: Client | None = None) -> str:
    response = (client or Client()).get("/graphql", HTTP_ACCEPT=HTML, secure=True)
    assert response.status_code == 200
    return response.content.decode()


def test_in_development_graphiql_opens_on_our_query_with_the_dev_key_prefilled(settings: Any, dev_key: str) -> None:
    settings.DEBUG = True
    html = page()
    config = graphiql_settings(html)
    assert config["defaultQuery"] == GRAPHIQL_DEFAULT_QUERY
    assert "query FirstAccounts" in config["defaultQuery"]
    assert json.loads(config["headers"]) == {"Authorization": f"Bearer {dev_key}"}
    assert HINT not in html


def test_in_production_the_dev_key_is_never_served_even_with_graphiql_on(settings: Any, dev_key: str) -> None:
    settings.DEBUG = False
    settings.LEDGER_GRAPHIQL = True
    html = page()
    assert dev_key not in html
    assert graphiql_settings(html)["headers"] is None
    assert HINT in html  # the anonymous visitor is told how to authenticate instead


def test_a_revoked_dev_key_is_not_prefilled(settings: Any, dev_key: str) -> None:
    settings.DEBUG = True
    api_key_revoke(key=ApiKey.objects.get(user__username="dev"))
    html = page()
    assert dev_key not in html and graphiql_settings(html)["headers"] is None
    assert HINT in html


def test_an_unauthenticated_visitor_is_told_how_to_authenticate(settings: Any, tmp_path: Path) -> None:
    settings.DEBUG = True
    settings.LEDGER_DEV_KEY_FILE = str(tmp_path / "absent")
    html = page()
    hint = html[html.index(HINT) : html.index("</div>", html.index(HINT))]
    assert 'href="/admin/login/?next=/graphql"' in hint
    assert "Authorization" in hint and "Bearer" in hint and "create_api_key" in hint
    # And GraphQL itself still refuses the visitor, as it must.
    refused = Client().post("/graphql", {"query": "{ accounts { totalCount } }"}, "application/json", secure=True)
    assert refused.status_code == 401


def test_a_logged_in_staff_member_gets_no_hint(settings: Any, tmp_path: Path) -> None:
    settings.DEBUG = True
    settings.LEDGER_DEV_KEY_FILE = str(tmp_path / "absent")
    client = Client()
    client.force_login(User.objects.create_superuser("staff", "staff@example.com", "x"))
    assert HINT not in page(client)


def test_the_default_query_runs_without_errors(settlement: object, dev_key: str) -> None:
    response = Client().post(
        "/graphql",
        json.dumps({"query": GRAPHIQL_DEFAULT_QUERY}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {dev_key}",
        secure=True,
    )
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body and body["data"]["accounts"]["totalCount"] >= 1
