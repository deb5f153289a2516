"""The deployment runs trusted: docker-compose.yml's stack, checked outside Docker (as tests/ops/test_compose_ha.py).

Every service of the app runs with ``LEDGER_DOCUMENTS=trusted``; the migrate
steps import the repository's documents (``LEDGER_DOCUMENTS_IMPORT``), from a
file the image holds, and a refused document fails the migration.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import CommandError, call_command

from tests.ops.support import PYTHON, ROOT, clean_env
from tests.ops.test_containers import COMPOSE
from tests.ops.test_containers import service_env as env_of
from trusted.models import TrustedDocument, document_hash

APP_SERVICES = ("migrate", "app", "worker", "ha-migrate", "ha-app", "ha-worker")
MIGRATE_SERVICES = ("migrate", "ha-migrate")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.mark.parametrize("name", APP_SERVICES)
def test_every_app_service_runs_trusted_documents_only(compose: dict[str, Any], name: str) -> None:
    assert env_of(compose, name)["LEDGER_DOCUMENTS"] == "trusted"


@pytest.mark.parametrize("name", MIGRATE_SERVICES)
def test_migrate_imports_the_repositorys_relay_documents_from_a_file_the_image_holds(
    compose: dict[str, Any], name: str
) -> None:
    assert compose["services"][name]["command"] == ["python", "manage.py", "migrate", "--no-input"]
    client, _, path = env_of(compose, name)["LEDGER_DOCUMENTS_IMPORT"].partition("=")
    assert (client, path) == ("relay-app", "clients/relay/persisted-documents.json")
    assert (ROOT / path).is_file()
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    assert not [pattern for pattern in ignored for prefix in prefixes if fnmatch.fnmatch(prefix, pattern)], (
        ".dockerignore leaves the documents out of the image"
    )


@pytest.mark.django_db
def test_migrate_with_the_compose_setting_imports_the_documents_once(compose: dict[str, Any], settings: Any) -> None:
    settings.LEDGER_DOCUMENTS_IMPORT = [env_of(compose, "migrate")["LEDGER_DOCUMENTS_IMPORT"]]
    expected = json.loads((ROOT / "clients" / "relay" / "persisted-documents.json").read_text())
    call_command("migrate", verbosity=0)
    call_command("migrate", verbosity=0)  # every deploy migrates: nothing is added twice
    assert dict(TrustedDocument.objects.values_list("sha256", "text")) == expected
    assert set(TrustedDocument.objects.values_list("client", flat=True)) == {"relay-app"}


@pytest.mark.django_db
def test_a_refused_document_fails_migrate(settings: Any, tmp_path: Path) -> None:
    bad = tmp_path / "documents.json"
    bad.write_text(json.dumps({document_hash("{ gone }"): "{ gone }"}))
    settings.LEDGER_DOCUMENTS_IMPORT = [f"web={bad}"]
    with pytest.raises(CommandError, match="refused"):
        call_command("migrate", verbosity=0)
    settings.LEDGER_DOCUMENTS_IMPORT = ["no-path"]
    with pytest.raises(CommandError, match="client=path"):
        call_command("migrate", verbosity=0)


def test_an_unknown_mode_stops_the_process() -> None:
    result = subprocess.run(
        [PYTHON, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=clean_env(LEDGER_DOCUMENTS="closed", DJANGO_SETTINGS_MODULE="ledger_project.settings"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "LEDGER_DOCUMENTS must be open or trusted" in result.stderr
