"""DATABASE_POOLER=pgbouncer: the settings a transaction-mode pooler needs, and the ones it cannot take.

Behind pgbouncer in transaction mode each transaction may run on another server
connection that other clients share. The settings turn off what would outlive a
transaction (server-side cursors, prepared statements) and refuse, with the
reason, connection options that only work within one session. The live run
through pgbouncer is tests/ops/test_pgbouncer.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.dburl import DatabaseURLError, parse_database_url, pooled

ROOT = Path(__file__).resolve().parents[2]
BOUNCER = "postgres://ledger_app:secret@127.0.0.1:6432/ledger"


def settings_under(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Imports the real settings module in a fresh process with ``env``; prints DATABASES as JSON."""
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.DATABASES, default=str))"
    )
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ledger_project.settings", "SECRET_KEY": "x", **env}
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=full_env, capture_output=True, text=True)


def test_behind_pgbouncer_server_side_cursors_and_prepared_statements_are_off_on_every_alias() -> None:
    run = settings_under(
        {
            "DATABASE_URL": BOUNCER,
            "DATABASE_REPLICA_URL": BOUNCER.replace("6432", "6433"),
            "DATABASE_POOLER": "pgbouncer",
        }
    )
    assert run.returncode == 0, run.stderr
    databases: dict[str, Any] = json.loads(run.stdout)
    assert list(databases) == ["default", "replica"]
    for alias in databases.values():
        assert alias["DISABLE_SERVER_SIDE_CURSORS"] is True
        assert "prepare_threshold" in alias["OPTIONS"] and alias["OPTIONS"]["prepare_threshold"] is None
        assert alias["CONN_HEALTH_CHECKS"] is True


def test_without_a_pooler_the_entry_is_what_it_was() -> None:
    run = settings_under({"DATABASE_URL": BOUNCER, "DATABASE_REPLICA_URL": "", "DATABASE_POOLER": ""})
    assert run.returncode == 0, run.stderr
    default = json.loads(run.stdout)["default"]
    assert default["DISABLE_SERVER_SIDE_CURSORS"] is False
    assert default["OPTIONS"] == {}
    assert parse_database_url(BOUNCER) == parse_database_url(BOUNCER, pooler="")


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"DATABASE_URL": BOUNCER, "DATABASE_POOLER": "pgpool"}, "DATABASE_POOLER='pgpool'"),
        ({"DATABASE_URL": "", "DATABASE_POOLER": "pgbouncer"}, "DATABASE_URL is not"),
        (
            {"DATABASE_URL": BOUNCER + "?options=-c%20statement_timeout%3D5000", "DATABASE_POOLER": "pgbouncer"},
            "options",
        ),
    ],
)
def test_a_pooler_the_settings_cannot_serve_stops_every_command(env: dict[str, str], says: str) -> None:
    run = settings_under({"DATABASE_REPLICA_URL": "", **env})
    assert run.returncode != 0
    assert "DatabaseURLError" in run.stderr and says in run.stderr


@pytest.mark.parametrize(
    ("query", "option"),
    [
        ("prepare_threshold=5", "prepare_threshold"),
        ("options=-c%20statement_timeout%3D5000", "options"),
        ("assume_role=ledger_reader", "assume_role"),
        ("target_session_attrs=read-write", "target_session_attrs"),
    ],
)
def test_connection_options_that_live_in_the_session_are_refused_with_the_reason(query: str, option: str) -> None:
    """Each would be silently wrong behind the pooler: a statement prepared on one server
    connection, a setting or role leaking to other clients, or (target_session_attrs) a
    demoted node taken for the primary, since pgbouncer 1.18 caches in_hot_standby."""
    with pytest.raises(DatabaseURLError, match=f"option '{option}' cannot be used behind pgbouncer: .+"):
        parse_database_url(f"{BOUNCER}?{query}", pooler="pgbouncer")
    parse_database_url(f"{BOUNCER}?{query}")  # without a pooler each is fine


def test_other_options_pass_through_and_prepared_statements_are_explicitly_off() -> None:
    config = parse_database_url(f"{BOUNCER}?connect_timeout=3&sslmode=disable", pooler="pgbouncer")
    assert config["OPTIONS"] == {"connect_timeout": 3, "sslmode": "disable", "prepare_threshold": None}
    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_a_pooler_fronts_postgresql_only() -> None:
    with pytest.raises(DatabaseURLError, match="PostgreSQL"):
        pooled(parse_database_url("sqlite:///tmp/x.sqlite3"), "pgbouncer")
