"""gunicorn.conf.py: what production serving reads from the environment, and its hooks."""

from __future__ import annotations

import runpy
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.ops.support import ROOT, clean_env

CONFIG = ROOT / "gunicorn.conf.py"


def load_config(monkeypatch: pytest.MonkeyPatch, cores: int = 2, **env: str) -> dict[str, Any]:
    for name in (
        "GUNICORN_BIND",
        "GUNICORN_WORKERS",
        "GUNICORN_THREADS",
        "GUNICORN_TIMEOUT",
        "PORT",
        "LOG_FORMAT",
        "DEBUG",
        "PROMETHEUS_MULTIPROC_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)))
    return runpy.run_path(str(CONFIG))


def test_defaults_suit_two_cores_and_listen_on_every_interface(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(monkeypatch, cores=2)
    assert config["bind"] == ["0.0.0.0:8000"]
    assert config["workers"] == 5
    assert config["threads"] == 2
    assert config["worker_class"] == "gthread"
    assert config["timeout"] == 30
    assert config["graceful_timeout"] == 30


def test_default_workers_are_capped_on_big_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_config(monkeypatch, cores=1)["workers"] == 3
    assert load_config(monkeypatch, cores=64)["workers"] == 9


def test_workers_threads_and_bind_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(monkeypatch, GUNICORN_WORKERS="3", GUNICORN_THREADS="8", PORT="9000", GUNICORN_TIMEOUT="60")
    assert (config["workers"], config["threads"], config["bind"], config["timeout"]) == (3, 8, ["0.0.0.0:9000"], 60)
    assert load_config(monkeypatch, GUNICORN_BIND="127.0.0.1:7000")["bind"] == ["127.0.0.1:7000"]
    assert load_config(monkeypatch, GUNICORN_THREADS="1")["worker_class"] == "sync"


def test_access_log_carries_the_request_id_header() -> None:
    text = CONFIG.read_text()
    assert "%({x-request-id}o)s" in text


def test_production_logs_are_json_and_development_logs_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    production = load_config(monkeypatch, DEBUG="false")
    formatters = production["logconfig_dict"]["formatters"]
    assert formatters["json"]["()"] == "core.logging.JsonFormatter"
    assert "logconfig_dict" not in load_config(monkeypatch, DEBUG="true")
    assert "logconfig_dict" not in load_config(monkeypatch, DEBUG="false", LOG_FORMAT="plain")


def test_multiprocess_dir_is_created_emptied_at_start_and_dead_workers_marked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    directory = tmp_path / "prom"
    config = load_config(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(directory))
    assert directory.is_dir()

    stale = directory / "counter_123.db"
    stale.write_bytes(b"stale")
    config["on_starting"](None)
    assert not stale.exists()

    live = directory / "gauge_livesum_4242.db"
    kept = directory / "counter_4242.db"
    live.write_bytes(b"x")
    kept.write_bytes(b"x")

    class Worker:
        pid = 4242

    config["child_exit"](None, Worker())
    assert not live.exists()  # a dead worker's live gauges stop counting
    assert kept.exists()  # its counters still add up


def test_hooks_do_nothing_without_a_multiprocess_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(monkeypatch)
    config["on_starting"](None)
    config["child_exit"](None, type("Worker", (), {"pid": 1})())


def gunicorn_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gunicorn", "--check-config", "-c", "gunicorn.conf.py", "ledger_project.wsgi"],
        cwd=ROOT,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_config_loads_the_app_with_production_env() -> None:
    result = gunicorn_check({"DEBUG": "false", "SECRET_KEY": "k" * 50, "ALLOWED_HOSTS": "ledger.example.com"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_config_refuses_production_without_a_secret_key() -> None:
    # Proves --check-config imports the app (settings included), not only this file.
    result = gunicorn_check({"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stdout + result.stderr


def test_commands_that_sign_nothing_run_without_a_secret_key(tmp_path: Path) -> None:
    """Only serving needs SECRET_KEY: printing the schema on a bare checkout must not."""
    out = tmp_path / "schema.graphql"
    result = subprocess.run(
        ["python", "manage.py", "graphql_schema", "--out", str(out)],
        cwd=ROOT,
        env=clean_env(DEBUG="false"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert out.read_text().strip() == (ROOT / "schema.graphql").read_text().strip()
