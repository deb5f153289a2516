"""DATABASE_URL with one host or several (an HA pair), as Django DATABASES entries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dj_database_url
import pytest
from django.db import connection
from django.db.utils import ConnectionHandler

from core.dburl import DatabaseURLError, parse_database_url

ROOT = Path(__file__).resolve().parents[2]
PAIR = "postgres://postgres@127.0.0.1:6001,127.0.0.1:6002/ledger?target_session_attrs=read-write"


def test_a_multi_host_url_keeps_every_host_and_port_in_order() -> None:
    config = parse_database_url(PAIR)
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["HOST"] == "127.0.0.1,127.0.0.1"
    assert config["PORT"] == "6001,6002"
    assert config["NAME"] == "ledger"
    assert config["USER"] == "postgres"
    assert config["OPTIONS"] == {"target_session_attrs": "read-write"}


def test_persistent_connections_are_health_checked_so_they_recover_after_a_failover() -> None:
    config = parse_database_url(PAIR, conn_max_age=300)
    assert config["CONN_MAX_AGE"] == 300
    assert config["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize(
    "url",
    [
        "postgres://postgres@127.0.0.1:5432/ledger",
        "postgresql://u:p%40ss@db.example:6543/led%2Fger?sslmode=require&connect_timeout=3",
        "postgres://u@[::1]:5432/ledger",
        "postgres://localhost/ledger",
        "sqlite:///tmp/x.sqlite3",
    ],
)
def test_a_single_host_url_parses_exactly_as_dj_database_url_does(url: str) -> None:
    assert parse_database_url(url, conn_max_age=600) == dj_database_url.parse(
        url, conn_max_age=600, conn_health_checks=True
    )


def test_user_password_and_options_of_a_multi_host_url_are_decoded() -> None:
    config = parse_database_url(
        "postgres://app:p%40ss%3Aw0rd@h1.db:5433,h2.db:5434/led%2Fger?target_session_attrs=prefer-standby&connect_timeout=2"
    )
    assert (config["USER"], config["PASSWORD"]) == ("app", "p@ss:w0rd")
    assert config["NAME"] == "led/ger"
    assert (config["HOST"], config["PORT"]) == ("h1.db,h2.db", "5433,5434")
    assert config["OPTIONS"] == {"target_session_attrs": "prefer-standby", "connect_timeout": 2}


def test_a_host_without_a_port_gets_the_default_one_and_no_ports_leave_port_empty() -> None:
    assert parse_database_url("postgres://u@h1:6001,h2/ledger")["PORT"] == "6001,5432"
    config = parse_database_url("postgres://u@h1,h2,h3/ledger")
    assert (config["HOST"], config["PORT"]) == ("h1,h2,h3", "")


def test_ipv6_hosts_in_a_list() -> None:
    config = parse_database_url("postgres://u@[::1]:6001,[fe80::1]/ledger")
    assert (config["HOST"], config["PORT"]) == ("::1,fe80::1", "6001,5432")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgres://u@h1:6001,,h2:6002/ledger", "empty host"),
        ("postgres://u@h1:6001,/ledger", "empty host"),
        ("postgres://u@h1:60x1,h2/ledger", "not a port number"),
        ("postgres://u@h1:70000,h2/ledger", "not a port number"),
        ("postgres://u@h1:0,h2/ledger", "not a port number"),
        ("postgres://u@[::1:6001,h2/ledger", "IPv6"),
        ("127.0.0.1:6001,127.0.0.1:6002/ledger", "postgres://"),
    ],
)
def test_a_malformed_host_list_is_refused_with_a_message_naming_the_part(url: str, says: str) -> None:
    with pytest.raises(DatabaseURLError, match=says):
        parse_database_url(url)


@pytest.mark.postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize("attrs", ["read-write", "prefer-standby", "any"])
def test_django_connects_through_a_host_list_to_the_first_server_that_answers(attrs: str) -> None:
    """Port 1 refuses the connection; libpq goes on to the real server, as after a failover."""
    real = connection.settings_dict
    config = parse_database_url(
        f"postgres://{real['USER']}@127.0.0.1:1,{real['HOST']}:{real['PORT']}/{real['NAME']}"
        f"?target_session_attrs={attrs}&connect_timeout=3"
    )
    probe = ConnectionHandler({"default": config})["default"]
    try:
        with probe.cursor() as cursor:
            cursor.execute("SELECT inet_server_port(), current_database()")
            assert cursor.fetchone() == (int(real["PORT"]), real["NAME"])
    finally:
        probe.close()


def settings_under(env: dict[str, str]) -> dict[str, object]:
    """The real settings module, imported in a fresh process with ``env``."""
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps({'databases': settings.DATABASES, 'routers': settings.DATABASE_ROUTERS}, default=str))"
    )
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ledger_project.settings", "SECRET_KEY": "x", **env}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=full_env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_settings_take_a_multi_host_database_url_and_add_a_replica_alias_only_when_asked() -> None:
    replica = PAIR.replace("read-write", "prefer-standby")
    without = settings_under({"DATABASE_URL": PAIR, "DATABASE_REPLICA_URL": ""})
    assert list(without["databases"]) == ["default"]  # type: ignore[call-overload]
    assert without["routers"] == []
    default = without["databases"]["default"]  # type: ignore[index]
    assert (default["HOST"], default["PORT"], default["OPTIONS"]) == (
        "127.0.0.1,127.0.0.1",
        "6001,6002",
        {"target_session_attrs": "read-write"},
    )
    assert default["CONN_HEALTH_CHECKS"] is True

    both = settings_under({"DATABASE_URL": PAIR, "DATABASE_REPLICA_URL": replica})
    assert list(both["databases"]) == ["default", "replica"]  # type: ignore[call-overload]
    assert both["routers"] == ["core.routing.ReplicaRouter"]
    alias = both["databases"]["replica"]  # type: ignore[index]
    assert alias["OPTIONS"] == {"target_session_attrs": "prefer-standby"}
    assert alias["TEST"]["MIRROR"] == "default"
