"""docker-compose.yml's `ha` profile stays the container form of deploy/ha/ha.sh.

Docker cannot run on the build machines, so the profile is checked by reading
it next to the script that `make ha-up` runs (and `make test-ha` proves): the
same PostgreSQL version, the same pg_autoctl flags, node names, ports and
database, the same monitor and node settings, and an app that reaches the pair
through one multi-host URL as the app role. ``docker compose --profile ha
config`` validates it where the plugin is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from tests.ops.support import PYTHON, ROOT, clean_env
from tests.ops.test_containers import COMPOSE, COMPOSE_CLI, OPERATOR_ENV, interpolate

HA_SH = ROOT / "deploy" / "ha" / "ha.sh"
HA_DIR = ROOT / "deploy" / "ha"
DATABASE_SERVICES = ("ha-monitor", "ha-node1", "ha-node2")
APP_SERVICES = ("ha-migrate", "ha-app", "ha-worker")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def script() -> str:
    return HA_SH.read_text()


def array(script: str, name: str) -> list[str]:
    """A bash array of quoted strings, ``NAME=( "a" "b" )``."""
    match = re.search(rf"^{name}=\(\n(.*?)\n\)", script, re.S | re.M)
    assert match, f"{name} not found in ha.sh"
    return re.findall(r'"([^"]*)"', match.group(1))


def default(script: str, name: str) -> str:
    """The default of ``NAME=${LEDGER_...:-default}``."""
    match = re.search(rf"^{name}=\$\{{\w+:-([^}}]*)\}}", script, re.M)
    assert match, f"{name} not found in ha.sh"
    return match.group(1)


def function(script: str, name: str) -> str:
    match = re.search(rf"^{name}\(\) \{{.*?^\}}", script, re.S | re.M)
    assert match, f"{name}() not found in ha.sh"
    return match.group(0)


def env(compose: dict[str, Any], name: str) -> dict[str, str]:
    raw = compose["services"][name].get("environment", {})
    return {key: interpolate(str(value), OPERATOR_ENV) for key, value in raw.items()}


def flags(argv: list[str]) -> dict[str, str | bool]:
    """``--name value`` and bare ``--flag`` of a command line."""
    found: dict[str, str | bool] = {}
    for index, word in enumerate(argv):
        if word.startswith("--"):
            following = argv[index + 1] if index + 1 < len(argv) else "--"
            found[word] = following if not following.startswith("--") else True
    return found


def ports(script: str) -> dict[str, int]:
    """What ha.sh gives each piece by default: the monitor its port, the nodes the next two."""
    base = int(default(script, "HA_PORT"))
    assert "NODE1_PORT=$((HA_PORT + 1))" in script and "NODE2_PORT=$((HA_PORT + 2))" in script
    return {"ha-monitor": base, "ha-node1": base + 1, "ha-node2": base + 2}


def test_the_profile_is_a_monitor_two_nodes_and_the_app_on_them(compose: dict[str, Any]) -> None:
    profiled = {name for name, service in compose["services"].items() if service.get("profiles")}
    assert profiled == {*DATABASE_SERVICES, *APP_SERVICES}
    for name in profiled:
        assert compose["services"][name]["profiles"] == ["ha"], name
    for name in ("ha-monitor", "ha-node1", "ha-node2"):
        assert compose["volumes"] is not None and name in compose["volumes"]


def test_the_image_is_the_same_postgresql_and_extension_as_the_script(compose: dict[str, Any], script: str) -> None:
    version = re.findall(r"^PG_VERSION=(\d+)$", script, re.M)[0]
    dockerfile = (HA_DIR / "Dockerfile").read_text()
    assert re.search(rf"^FROM postgres:{version}$", dockerfile, re.M)
    assert f"postgresql-{version}-auto-failover" in dockerfile
    assert "postgresql-$PG_VERSION-auto-failover" in function(script, "install_packages")
    assert f"ENV PATH=/usr/lib/postgresql/{version}/bin:$PATH" in dockerfile
    assert "USER postgres" in dockerfile  # pg_autoctl refuses root, as ha.sh knows
    for name in DATABASE_SERVICES:
        service = compose["services"][name]
        assert service["build"] == "deploy/ha", name  # built here, never pulled
        assert interpolate(service["image"], OPERATOR_ENV) == "ledger-ha:latest"


def test_pg_autoctl_gets_the_scripts_ports_names_database_and_auth(compose: dict[str, Any], script: str) -> None:
    expected_ports = ports(script)
    database = default(script, "HA_DB")
    monitor_script = flags(function(script, "create_monitor").split())
    node_script = flags(function(script, "create_node").split())
    node_names = re.findall(r"create_node (node\d) ", script)
    assert node_names[:2] == ["node1", "node2"]

    monitor = flags(compose["services"]["ha-monitor"]["command"])
    assert compose["services"]["ha-monitor"]["command"][:3] == ["pg_autoctl", "create", "monitor"]
    assert monitor["--pgport"] == str(expected_ports["ha-monitor"])
    for flag in ("--auth", "--no-ssl"):
        assert monitor[flag] == monitor_script[flag], flag
    assert monitor["--run"] is True

    monitor_uri = script[script.index('MONITOR_URI="') :].split('"')[1]
    for index, name in enumerate(("ha-node1", "ha-node2")):
        command = compose["services"][name]["command"]
        node = flags(command)
        assert command[:3] == ["pg_autoctl", "create", "postgres"]
        assert node["--pgport"] == str(expected_ports[name])
        assert node["--name"] == node_names[index]
        assert node["--dbname"] == database
        assert node["--hostname"] == name  # the compose network's name for it
        for flag in ("--auth", "--no-ssl"):
            assert node[flag] == node_script[flag], flag
        # The same monitor URI, with the monitor's service name for 127.0.0.1.
        uri = monitor_uri.replace("127.0.0.1", "ha-monitor").replace("$MONITOR_PORT", str(expected_ports["ha-monitor"]))
        assert node["--monitor"] == uri
        assert node["--run"] is True


def test_the_monitor_detects_failures_with_the_scripts_settings(compose: dict[str, Any], script: str) -> None:
    settings = array(script, "MONITOR_SETTINGS")
    assert "pgautofailover.primary_demote_timeout=5000" in settings  # the array is what we think it is
    assert env(compose, "ha-monitor")["LEDGER_HA_SETTINGS"].split() == settings


def test_both_nodes_commit_synchronously_with_the_scripts_settings(compose: dict[str, Any], script: str) -> None:
    settings = array(script, "NODE_SETTINGS")
    assert "synchronous_commit='on'" in settings
    for name in ("ha-node1", "ha-node2"):
        assert env(compose, name)["LEDGER_HA_SETTINGS"].split() == settings, name


def test_each_server_is_configured_and_checked_on_its_own_port(compose: dict[str, Any], script: str) -> None:
    expected = ports(script)
    for name, port in expected.items():
        service = compose["services"][name]
        assert env(compose, name)["LEDGER_HA_NODE_PORT"] == str(port)
        assert service["healthcheck"]["test"][-2:] == ["-p", str(port)]
    # A node being created checkpoints the other one, as ha.sh does during node2's base backup.
    assert env(compose, "ha-node1")["LEDGER_HA_PEERS"] == f"ha-node2:{expected['ha-node2']}"
    assert env(compose, "ha-node2")["LEDGER_HA_PEERS"] == f"ha-node1:{expected['ha-node1']}"
    # node1 first: it becomes the primary, node2 its secondary, as with ha.sh.
    assert compose["services"]["ha-node2"]["depends_on"] == {"ha-node1": {"condition": "service_healthy"}}
    assert compose["services"]["ha-node1"]["depends_on"] == {"ha-monitor": {"condition": "service_healthy"}}


def test_the_entrypoint_applies_settings_as_the_script_does() -> None:
    entrypoint = (HA_DIR / "entrypoint.sh").read_text()
    assert "ALTER SYSTEM SET ${setting%%=*} = ${setting#*=}" in entrypoint
    assert "ALTER SYSTEM SET ${setting%%=*} = ${setting#*=}" in HA_SH.read_text()
    assert "pg_reload_conf()" in entrypoint
    assert entrypoint.rstrip().endswith('exec "$@"')  # pg_autoctl gets the signals
    assert subprocess.run(["bash", "-n", str(HA_DIR / "entrypoint.sh")]).returncode == 0
    if shutil.which("shellcheck"):
        checked = subprocess.run(["shellcheck", str(HA_DIR / "entrypoint.sh")], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout


def test_no_database_port_is_published(compose: dict[str, Any]) -> None:
    """The nodes trust every connection from the compose network: nothing outside it may reach them."""
    for name in DATABASE_SERVICES:
        assert "ports" not in compose["services"][name], name


def test_the_app_reaches_the_primary_and_the_standby_through_both_nodes(compose: dict[str, Any], script: str) -> None:
    expected = ports(script)
    hosts = f"ha-node1:{expected['ha-node1']},ha-node2:{expected['ha-node2']}"
    database = default(script, "HA_DB")
    for name, attrs in (
        ("ha-migrate", {"DATABASE_URL": "read-write"}),
        ("ha-app", {"DATABASE_URL": "read-write", "DATABASE_REPLICA_URL": "prefer-standby"}),
        ("ha-worker", {"DATABASE_URL": "read-write"}),
    ):
        service_env = env(compose, name)
        for variable, wanted in attrs.items():
            url = service_env[variable]
            netloc, _, rest = url.split("://", 1)[1].partition("/")
            assert netloc.rpartition("@")[2] == hosts, (name, variable)
            assert rest.split("?")[0] == database
            assert parse_qs(urlsplit(url).query)["target_session_attrs"] == [wanted], (name, variable)
        assert compose["services"][name]["depends_on"] != {"db": {"condition": "service_healthy"}}
    # The pair's nodes before migrate; migrate before the app and the worker.
    assert set(compose["services"]["ha-migrate"]["depends_on"]) == {"ha-node1", "ha-node2"}
    for name in ("ha-app", "ha-worker"):
        assert compose["services"][name]["depends_on"] == {
            "ha-migrate": {"condition": "service_completed_successfully"}
        }


def test_on_the_pair_too_migrate_runs_as_the_owner_and_the_app_as_the_app_role(compose: dict[str, Any]) -> None:
    migrate = env(compose, "ha-migrate")
    assert migrate["LEDGER_DB_APP_ROLE"] == "ledger_app"
    assert migrate["LEDGER_DB_APP_PASSWORD"] == OPERATOR_ENV["LEDGER_DB_PASSWORD"]
    for name in ("ha-app", "ha-worker"):
        service_env = env(compose, name)
        for variable in ("DATABASE_URL", "DATABASE_REPLICA_URL"):
            if variable in service_env:
                user = service_env[variable].split("://", 1)[1].rpartition("@")[0]
                assert user == f"ledger_app:{OPERATOR_ENV['LEDGER_DB_PASSWORD']}", (name, variable)
        assert "LEDGER_DB_APP_PASSWORD" not in service_env


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_ha_app_service_env_passes_check_deploy(compose: dict[str, Any], name: str) -> None:
    service_env = env(compose, name)
    service_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    result = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean_env(**service_env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(COMPOSE_CLI is None, reason="neither docker compose nor docker-compose is installed")
def test_docker_compose_config_validates_the_ha_profile() -> None:
    assert COMPOSE_CLI is not None
    result = subprocess.run(
        [*COMPOSE_CLI, "-f", str(COMPOSE), "--profile", "ha", "config"],
        cwd=ROOT,
        env=clean_env(**OPERATOR_ENV),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert {*DATABASE_SERVICES, *APP_SERVICES} <= set(yaml.safe_load(result.stdout)["services"])
