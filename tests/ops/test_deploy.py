"""Production settings: check --deploy, static files, CORS."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

from tests.ops.support import PYTHON, ROOT, clean_env

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "ledger.example.com",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=clean_env(**env), capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_env() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_debug_in_production() -> None:
    # The check has teeth: the same env with DEBUG on fails it.
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, "DEBUG": "true"})
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = manage("check", env={"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("SESSION_COOKIE_SECURE", True),
        ("CSRF_COOKIE_SECURE", True),
        ("SECURE_SSL_REDIRECT", True),
        ("SECURE_HSTS_SECONDS", 31536000),
        ("SECURE_HSTS_INCLUDE_SUBDOMAINS", True),
        ("CORS_ALLOWED_ORIGINS", []),
        ("CORS_ALLOW_ALL_ORIGINS", False),
    ],
)
def test_production_defaults_are_the_safe_ones(name: str, expected: object) -> None:
    script = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps(getattr(settings, {name!r}, False)))"
    )
    result = subprocess.run(
        [PYTHON, "-c", script],
        cwd=ROOT,
        env=clean_env(DJANGO_SETTINGS_MODULE="ledger_project.settings", **PRODUCTION_ENV),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == expected


def test_https_settings_follow_the_environment() -> None:
    env = {**PRODUCTION_ENV, "SECURE_HSTS_SECONDS": "600", "SECURE_SSL_REDIRECT": "false"}
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SECURE_HSTS_SECONDS, settings.SECURE_SSL_REDIRECT)"
    )
    result = subprocess.run(
        [PYTHON, "-c", script],
        cwd=ROOT,
        env=clean_env(DJANGO_SETTINGS_MODULE="ledger_project.settings", **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["600", "False"], result.stderr


def test_collectstatic_builds_hashed_compressed_files_for_admin_and_graphiql(tmp_path: Path) -> None:
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": "ledger_project.staticfiles.LedgerStaticFilesStorage"}}
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    base_css = manifest["admin/css/base.css"]
    assert base_css != "admin/css/base.css"  # content-hashed: safe to cache forever
    assert (tmp_path / (base_css + ".gz")).exists()
    assert "graphene_django_graphiql_static/graphiql.min.css" in manifest


def test_whitenoise_serves_static_files(client: Client) -> None:
    response = client.get("/static/admin/css/base.css", secure=True)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)  # type: ignore[attr-defined]


@pytest.mark.django_db
@override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"])
def test_cors_answers_listed_origins_only(client: Client) -> None:
    listed = client.get("/admin/login/", secure=True, headers={"Origin": "https://app.example.com"})
    assert listed["Access-Control-Allow-Origin"] == "https://app.example.com"

    other = client.get("/admin/login/", secure=True, headers={"Origin": "https://evil.example.net"})
    assert "Access-Control-Allow-Origin" not in other


@pytest.mark.django_db
def test_cors_preflight_allows_the_api_headers(client: Client) -> None:
    with override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"]):
        response = client.options(
            "/graphql",
            secure=True,
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "x-request-id"} <= allowed


@pytest.mark.django_db
def test_pages_render_before_collectstatic_ever_ran(client: Client, tmp_path: Path) -> None:
    # A fresh clone (tests, make run) has no manifest: pages link the plain names, WhiteNoise finds them.
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": "ledger_project.staticfiles.LedgerStaticFilesStorage"}}
    with override_settings(STATIC_ROOT=tmp_path / "never-collected", STORAGES=storages):
        response = client.get("/admin/login/", secure=True)
    assert response.status_code == 200
    assert 'href="/static/admin/css/base.css"' in response.content.decode()


def test_pages_link_hashed_names_after_collectstatic(tmp_path: Path) -> None:
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": "ledger_project.staticfiles.LedgerStaticFilesStorage"}}
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages):
        call_command("collectstatic", interactive=False, verbosity=0)
        from django.contrib.staticfiles.storage import staticfiles_storage

        assert re.fullmatch(r"/static/admin/css/base\.[0-9a-f]{12}\.css", staticfiles_storage.url("admin/css/base.css"))
        with pytest.raises(ValueError):
            staticfiles_storage.url("admin/css/no-such-file.css")  # strict once collected: a typo fails loudly
