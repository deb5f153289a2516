"""The Dockerfile and docker-compose.yml, checked outside Docker.

Docker cannot run on the build machines, so every command a container runs is
checked here with the environment the compose file gives it: each
``manage.py`` command exists and accepts its arguments, the app's gunicorn
(behind nginx, ledger_project/serve.py) loads its config and the app, and the
app's environment passes ``check --deploy``.
``docker compose config`` validates the file where the plugin is installed.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from django.core.management import get_commands, load_command_class

from ledger_project import serve
from tests.ops.support import PYTHON, ROOT, clean_env

COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
# What an operator supplies; everything else has a default in the compose file.
OPERATOR_ENV = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "POSTGRES_PASSWORD": "example-password",
    "LEDGER_DB_PASSWORD": "example-app-password",
    "ALLOWED_HOSTS": "ledger.example.com",
}
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``, as docker compose reads them."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        current = env.get(name)
        if op in (":-", "-"):
            return current if current or (op == "-" and current is not None) else arg
        if op in (":?", "?"):
            if not current:
                raise KeyError(f"{name}: {arg}")
            return current
        return current or ""

    return _VARIABLE.sub(replace, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def service_env(compose: dict[str, Any], name: str, env: dict[str, str] | None = None) -> dict[str, str]:
    raw = compose["services"][name].get("environment", {})
    return {key: interpolate(str(value), env or OPERATOR_ENV) for key, value in raw.items()}


def command(compose: dict[str, Any], name: str) -> list[str]:
    return [interpolate(part, OPERATOR_ENV) for part in compose["services"][name]["command"]]


def test_the_stack_has_a_database_a_migration_the_app_and_the_worker(compose: dict[str, Any]) -> None:
    services = compose["services"]
    # What `docker compose up` starts: the services of no profile (the `ha` profile: test_compose_ha.py).
    started = {name for name, service in services.items() if not service.get("profiles")}
    assert started == {"db", "migrate", "app", "worker"}
    db = services["db"]
    assert db["image"] == "postgres:15"
    assert any(str(volume).endswith(":/var/lib/postgresql/data") for volume in db["volumes"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert "pgdata" in compose["volumes"]


def test_migration_runs_once_after_the_database_and_before_the_app_and_worker(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    for name in ("app", "worker"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert services[name]["restart"] == "unless-stopped"


def test_secrets_are_required_not_defaulted() -> None:
    text = COMPOSE.read_text()
    assert "${SECRET_KEY:?" in text
    assert "${POSTGRES_PASSWORD:?" in text
    assert "${LEDGER_DB_PASSWORD:?" in text
    with pytest.raises(KeyError):
        interpolate("${SECRET_KEY:?set it}", {})


@pytest.mark.parametrize("name", ["migrate", "worker"])
def test_each_manage_py_command_exists_and_accepts_its_arguments(compose: dict[str, Any], name: str) -> None:
    argv = command(compose, name)
    assert argv[:2] == ["python", "manage.py"]
    subcommand, args = argv[2], argv[3:]
    commands = get_commands()
    assert subcommand in commands, f"{name} runs `manage.py {subcommand}`, which does not exist"
    parser = load_command_class(commands[subcommand], subcommand).create_parser("manage.py", subcommand)
    parser.parse_args(args)  # exits (SystemExit) on an unknown option


def test_the_app_runs_the_production_stack_whose_gunicorn_reads_the_config_file(compose: dict[str, Any]) -> None:
    assert command(compose, "app") == ["python", "-m", "ledger_project.serve"]
    gunicorn = serve.gunicorn_command()
    assert gunicorn[1:3] == ["-m", "gunicorn"]
    assert gunicorn[3:] == ["-c", str(ROOT / "gunicorn.conf.py"), "ledger_project.proxied:application"]


def test_gunicorn_loads_its_config_and_the_app_with_the_apps_env(compose: dict[str, Any], tmp_path: Any) -> None:
    env = service_env(compose, "app")
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "prometheus")  # /tmp/prometheus inside the image
    gunicorn = serve.gunicorn_command()
    result = subprocess.run(
        [*gunicorn[:3], "--check-config", *gunicorn[3:]],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["app", "worker", "migrate"])
def test_every_service_env_passes_check_deploy(compose: dict[str, Any], name: str) -> None:
    env = service_env(compose, name)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    result = subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_migrate_runs_as_the_owner_and_everything_else_as_the_app_role(compose: dict[str, Any]) -> None:
    """Security issue, class 5: the app and the worker must not own the tables (docs/OPERATIONS.md)."""
    owner = urlsplit(service_env(compose, "migrate")["DATABASE_URL"])
    assert (owner.username, owner.password) == ("ledger", OPERATOR_ENV["POSTGRES_PASSWORD"])
    assert service_env(compose, "db")["POSTGRES_USER"] == "ledger"
    migrate = service_env(compose, "migrate")
    for name in ("app", "worker"):
        app = urlsplit(service_env(compose, name)["DATABASE_URL"])
        assert app.username == migrate["LEDGER_DB_APP_ROLE"] == "ledger_app", name
        assert app.password == migrate["LEDGER_DB_APP_PASSWORD"] == OPERATOR_ENV["LEDGER_DB_PASSWORD"], name
        assert OPERATOR_ENV["POSTGRES_PASSWORD"] not in service_env(compose, name).values(), name
        assert "LEDGER_DB_APP_PASSWORD" not in service_env(compose, name), name


def test_the_apps_health_check_host_is_allowed(compose: dict[str, Any]) -> None:
    env = service_env(compose, "app")
    assert "127.0.0.1" in env["ALLOWED_HOSTS"].split(",")
    assert "http://127.0.0.1:8000/healthz" in " ".join(compose["services"]["app"]["healthcheck"]["test"])


def test_only_the_app_shares_a_metrics_directory(compose: dict[str, Any]) -> None:
    assert service_env(compose, "app")["PROMETHEUS_MULTIPROC_DIR"] == "/tmp/prometheus"
    assert service_env(compose, "worker")["PROMETHEUS_MULTIPROC_DIR"] == ""
    assert service_env(compose, "migrate")["PROMETHEUS_MULTIPROC_DIR"] == ""


def _compose_command() -> list[str] | None:
    """``docker compose`` (the plugin) where installed, else the standalone ``docker-compose``."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


COMPOSE_CLI = _compose_command()
needs_compose = pytest.mark.skipif(COMPOSE_CLI is None, reason="neither docker compose nor docker-compose is installed")


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert COMPOSE_CLI is not None
    return subprocess.run(
        [*COMPOSE_CLI, "-f", str(COMPOSE), "config"],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@needs_compose
def test_docker_compose_config_validates() -> None:
    result = compose_config(OPERATOR_ENV)
    assert result.returncode == 0, result.stderr


@needs_compose
def test_docker_compose_refuses_to_start_without_the_secrets() -> None:
    result = compose_config({"POSTGRES_PASSWORD": "x"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@needs_compose
def test_the_env_checked_here_is_the_env_docker_compose_gives(compose: dict[str, Any]) -> None:
    resolved = yaml.safe_load(compose_config(OPERATOR_ENV).stdout)["services"]
    for name in ("migrate", "app", "worker"):
        given = {key: "" if value is None else str(value) for key, value in resolved[name]["environment"].items()}
        assert given == service_env(compose, name), name
        assert resolved[name]["command"] == command(compose, name)


# --- Dockerfile ------------------------------------------------------------------------


def stages() -> list[list[str]]:
    """The Dockerfile's instructions, split by FROM, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    result: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            result.append([])
        if result:
            result[-1].append(line)
    return result


def test_dockerfile_is_multi_stage_on_slim_python_311() -> None:
    text = DOCKERFILE.read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert len(stages()) >= 2
    assert any("COPY --from=build" in line for line in stages()[-1])


def test_final_image_runs_as_a_non_root_user_without_compilers() -> None:
    final = stages()[-1]
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    for line in final:
        assert not re.search(r"\b(gcc|g\+\+|build-essential|clang|make)\b", line), line


def test_image_installs_requirements_and_nginx_collects_static_and_starts_the_production_stack() -> None:
    text = DOCKERFILE.read_text()
    assert "-r /tmp/requirements.txt" in text
    assert "manage.py collectstatic --no-input" in text
    final = stages()[-1]
    assert any("apt-get install" in line and "nginx" in line for line in final)
    assert "HOST=0.0.0.0" in text  # inside a container nginx listens on every interface
    assert 'CMD ["python", "-m", "ledger_project.serve"]' in text


def test_build_context_leaves_out_history_environments_and_secrets() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".env", "*.sqlite3", ".dev-api-key"} <= ignored
