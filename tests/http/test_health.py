"""Liveness and readiness, as a load balancer sees them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_is_200_while_the_process_answers() -> None:
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_200_when_migrated_and_connected() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_is_503_while_a_migration_is_unapplied() -> None:
    """As during a deploy whose migrate step has not run yet: the recorder's table says what is applied."""
    (leaf,) = MigrationLoader(connection).graph.leaf_nodes("access")  # the app's last: its first would be hidden
    MigrationRecorder(connection).record_unapplied(*leaf)
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "1 unapplied migration(s)"}
    assert Client().get("/healthz").status_code == 200  # alive, just not ready


def test_readyz_is_503_and_graphql_unavailable_when_the_database_does_not_answer() -> None:
    """A real process pointed at a PostgreSQL port where nothing listens."""
    script = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/readyz', HTTP_HOST='localhost')\n"
        "h = Client().get('/healthz', HTTP_HOST='localhost')\n"
        "g = Client().post('/graphql', '{\"query\": \"{ __typename }\"}', content_type='application/json',\n"
        "                  HTTP_HOST='localhost', HTTP_AUTHORIZATION='Bearer ldg_x')\n"
        "print(json.dumps([r.status_code, r.json(), h.status_code, g.status_code, g.json()]))\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ledger_project.settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:9/ledger",  # the discard port: refused at once
        "DEBUG": "false",
        "SECRET_KEY": "test-only",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "CRITICAL",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    status, body, alive, graphql_status, graphql_body = json.loads(done.stdout.strip().splitlines()[-1])
    assert (status, body, alive) == (503, {"status": "unavailable", "reason": "database"}, 200)
    # Authentication needs the database: the API answers a coded UNAVAILABLE (retry), not an HTML error page.
    assert graphql_status == 503
    assert [error["extensions"]["code"] for error in graphql_body["errors"]] == ["UNAVAILABLE"]
    assert not any(word in json.dumps(graphql_body) for word in ("127.0.0.1", "psycopg", "connection", "port"))
