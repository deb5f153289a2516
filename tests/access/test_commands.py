"""create_api_key, revoke_api_key and dev_api_key, as operators and `make run` use them."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from access.models import ApiKey
from access.selectors import api_key_for_token

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r"^ldg_[A-Za-z0-9_-]{43}$")


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def query_with(token: str, query: str = "{ accounts { totalCount } }") -> Any:
    return Client().post(
        "/graphql", json.dumps({"query": query}), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def test_create_api_key_prints_the_key_alone_on_the_last_line(settlement: object) -> None:
    out, err = run("create_api_key", "ops", "--create-user", "--superuser")
    token = out.splitlines()[-1]
    assert TOKEN.match(token)
    assert out == token + "\n"  # stdout holds the key only; the words go to stderr
    assert "store it now" in err
    user = User.objects.get(username="ops")
    assert user.is_superuser and not user.has_usable_password()
    body = query_with(token).json()
    assert body.pop("extensions")["cost"]["statements"] == 2  # echoed on every measured response: page and count
    assert body == {"data": {"accounts": {"totalCount": 1}}}


def test_create_api_key_for_an_existing_user_read_only(settlement: object) -> None:
    User.objects.create_user("reader")
    out, _ = run("create_api_key", "reader", "--read-only", "--name", "dashboards")
    key = api_key_for_token(token=out.splitlines()[-1])
    assert key is not None and key.read_only and key.name == "dashboards" and key.user.username == "reader"


def test_create_api_key_superuser_promotes_an_existing_user() -> None:
    User.objects.create_user("ops")
    run("create_api_key", "ops", "--superuser")
    assert User.objects.get(username="ops").is_superuser


def test_create_api_key_refuses_an_unknown_or_inactive_user() -> None:
    with pytest.raises(CommandError, match="--create-user"):
        run("create_api_key", "ghost")
    User.objects.create_user("gone", is_active=False)
    with pytest.raises(CommandError, match="inactive"):
        run("create_api_key", "gone")
    assert not ApiKey.objects.exists()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_create_api_key_from_a_shell_then_tail_gives_the_key() -> None:
    """What the README does: KEY=$(python manage.py create_api_key tour --create-user --superuser | tail -n 1)."""
    settings_dict = connection.settings_dict
    url = f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
    command = f"{shlex.quote(sys.executable)} manage.py create_api_key tour --create-user --superuser | tail -n 1"
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "false", "SECRET_KEY": "test-only"}
    done = subprocess.run(["sh", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    token = done.stdout.strip()
    assert TOKEN.match(token), done
    key = api_key_for_token(token=token)
    assert key is not None and key.user.is_superuser


def test_revoke_api_key_by_prefix_or_user(settlement: object) -> None:
    first = run("create_api_key", "ops", "--create-user", "--superuser")[0].splitlines()[-1]
    second = run("create_api_key", "ops")[0].splitlines()[-1]
    out, _ = run("revoke_api_key", first[:12])  # the prefix the admin lists
    assert out == f"revoked 1 key(s): {first[:12]}\n"
    assert query_with(first).status_code == 401
    assert query_with(second).status_code == 200
    third = run("create_api_key", "ops")[0].splitlines()[-1]
    out, _ = run("revoke_api_key", "--user", "ops")
    assert out.startswith("revoked 2 key(s)")
    assert query_with(second).status_code == 401 and query_with(third).status_code == 401
    with pytest.raises(CommandError, match="no active key"):
        run("revoke_api_key", "--user", "ops")
    with pytest.raises(CommandError, match="either"):
        run("revoke_api_key")


def test_revoke_api_key_accepts_the_whole_key(settlement: object) -> None:
    token = run("create_api_key", "ops", "--create-user", "--superuser")[0].splitlines()[-1]
    run("revoke_api_key", token)
    assert query_with(token).status_code == 401


def test_dev_api_key_makes_a_superuser_key_and_a_curl_that_works(
    settlement: object, settings: Any, tmp_path: Path
) -> None:
    settings.DEBUG = True
    settings.LEDGER_DEV_KEY_FILE = str(tmp_path / ".dev-api-key")
    out, _ = run("dev_api_key", "--host", "127.0.0.1", "--port", "8123")
    token = re.search(r"ldg_[A-Za-z0-9_-]{43}", out)
    assert token is not None
    # Kept for GraphiQL to prefill, readable by its owner only.
    kept = tmp_path / ".dev-api-key"
    assert kept.read_text().strip() == token.group()
    assert kept.stat().st_mode & 0o777 == 0o600
    curl = next(line.strip() for line in out.splitlines() if line.strip().startswith("curl "))
    words = shlex.split(curl)
    assert words[:3] == ["curl", "-s", "http://127.0.0.1:8123/graphql"]
    assert words[words.index("-H") + 1] == f"Authorization: Bearer {token.group()}"
    body = words[words.index("-d") + 1]
    response = Client().post(
        "/graphql", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token.group()}"
    )
    assert response.status_code == 200 and "errors" not in response.json()
    assert User.objects.get(username="dev").is_superuser
    # Run again: the same user, a fresh key (the kept one replaced).
    run("dev_api_key")
    assert kept.read_text().strip() != token.group()
    assert User.objects.filter(username="dev").count() == 1
    assert ApiKey.objects.filter(user__username="dev", revoked_at__isnull=True).count() == 2


def test_dev_api_key_refuses_to_run_without_debug(settings: Any, tmp_path: Path) -> None:
    settings.DEBUG = False
    settings.LEDGER_DEV_KEY_FILE = str(tmp_path / ".dev-api-key")
    with pytest.raises(CommandError, match="DEBUG"):
        run("dev_api_key")
    assert not User.objects.filter(username="dev").exists()
    assert not (tmp_path / ".dev-api-key").exists()
