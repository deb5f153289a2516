"""trusted-documents.md, Proof expected: real clients in Node against a real server, not hand-made requests.

- relay-compiler 21 compiles the Relay project in clients/relay with
  ``persistConfig``; its output must be the committed persisted-documents.json
  (what the deployment imports); that file is imported with import_documents,
  and relay-runtime runs each operation by ``doc_id`` in trusted mode, a
  ``@connection`` page merged into the first.
- Apollo Client's persisted-queries link runs a query twice against a fresh
  store (miss, register, hit) and, in trusted mode, is refused.

The npm packages come from clients/package-lock.json (``npm ci``; the Makefile
runs it before the suite, and so does this module when they are missing).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from graphql_relay import to_global_id

from access.services import api_key_create
from tests.conftest import ensure_settlement_account
from tests.factories import make_account
from tests.ops.live import gunicorn_server
from transactions.services.transfers import TransferSpec, transfer_create
from trusted.models import TrustedDocument, document_hash

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "clients"
RELAY = CLIENTS / "relay"
BIN = CLIENTS / "node_modules" / ".bin"


@pytest.fixture(scope="session")
def node_modules() -> Path:
    if not (CLIENTS / "node_modules" / ".package-lock.json").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=CLIENTS, check=True, capture_output=True)
    return CLIENTS / "node_modules"


@pytest.fixture(scope="session")
def relay_build(node_modules: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Relay project compiled from scratch by relay-compiler, in a copy: the artifacts' directory."""
    root = tmp_path_factory.mktemp("relay-build")
    project = root / "clients" / "relay"
    shutil.copytree(RELAY / "src", project / "src", ignore=shutil.ignore_patterns("__generated__"))
    shutil.copy(RELAY / "relay.config.json", project)
    shutil.copy(ROOT / "schema.graphql", root)  # the config names ../../schema.graphql
    (project / "persisted-documents.json").write_text("{}")
    compiled = subprocess.run([str(BIN / "relay-compiler")], cwd=project, capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    (project / "compiled-documents.json").write_text((project / "persisted-documents.json").read_text())
    return project


def node(script: Path, **env: str) -> dict[str, Any]:
    result = subprocess.run(
        ["node", str(script)],
        env={**os.environ, "NODE_PATH": str(CLIENTS / "node_modules"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


pytestmark = pytest.mark.postgres_only  # gunicorn in its own process shares the test database: PostgreSQL


@contextmanager
def server(mode: str) -> Iterator[str]:
    """gunicorn, as production runs it, in ``mode``: its GraphQL endpoint's URL."""
    with gunicorn_server(f"trusted-{mode}", LEDGER_DOCUMENTS=mode) as running:
        yield f"{running.url}/graphql"


@pytest.fixture
def key(transactional_db: None) -> str:
    ensure_settlement_account()  # a transactional test's flush removed it
    user = User.objects.create_superuser("app", password="x")
    return api_key_create(user=user)[1]


def test_relay_compilers_output_is_the_committed_persisted_documents(relay_build: Path) -> None:
    compiled = json.loads((relay_build / "compiled-documents.json").read_text())
    committed = json.loads((RELAY / "persisted-documents.json").read_text())
    assert compiled == committed, "clients/relay changed: run `npm run relay` in clients/ and commit the file"
    assert all(document_hash(text) == sha256 for sha256, text in compiled.items())
    assert {text.split("(")[0].split()[-1] for text in compiled.values()} == {
        "AccountScreenQuery",
        "AccountTransactionsPaginationQuery",
        "AccountsListQuery",
        "SendPixMutation",
    }


def test_relay_runs_every_operation_by_doc_id_in_trusted_mode(relay_build: Path, key: str) -> None:
    call_command("import_documents", str(relay_build / "compiled-documents.json"), "--client", "relay-app", verbosity=0)
    alice, bob = make_account(balance=10_000, name="Alice Relay"), make_account(name="Bob Relay")
    for cents in (101, 102, 103):
        transfer_create(spec=TransferSpec(alice.pk, bob.pk, cents, "PIX"))
    with server("trusted") as url:
        out = node(
            RELAY / "run.js",
            LEDGER_URL=url,
            LEDGER_KEY=key,
            ACCOUNT_ID=to_global_id("Account", str(alice.pk)),
            RECEIVER_ID=to_global_id("Account", str(bob.pk)),
            RELAY_ARTIFACTS=str(relay_build / "src" / "__generated__"),
        )
    assert out["header"] == {
        "name": "Alice Relay",
        "document": alice.document,
        "balance": "96.94",
        "availableBalance": "96.94",
    }
    assert out["firstPage"] == {"amounts": ["100.00", "1.01"], "hasNextPage": True, "totalCount": 4}
    # The next page, fetched by the pagination query, merged by Relay's @connection handler into the same list.
    assert out["afterNextPage"] == {"amounts": ["100.00", "1.01", "1.02", "1.03"], "hasNextPage": False}
    assert out["pix"]["transaction"]["status"] == "COMPLETED" and out["pix"]["errors"] == []
    assert out["picker"] == ["Alice Relay"]
    assert [request["operation"] for request in out["sent"]] == [
        "AccountScreenQuery",
        "AccountTransactionsPaginationQuery",
        "SendPixMutation",
        "AccountsListQuery",
    ]
    assert all(request["keys"] == ["doc_id", "variables"] for request in out["sent"])  # never the text


def test_apollo_persisted_queries_miss_register_then_hit(key: str) -> None:
    with server("open") as url:
        out = node(CLIENTS / "apollo" / "run.cjs", LEDGER_URL=url, LEDGER_KEY=key)
    assert out["first"] == out["second"] == {"totalCount": 1}  # the settlement account
    (document,) = TrustedDocument.objects.all()
    assert document.client == "apq" and "query ApolloAccounts" in document.text
    assert out["sent"] == [
        {"hash": document.sha256, "withText": False, "status": 200},  # miss: PERSISTED_QUERY_NOT_FOUND
        {"hash": document.sha256, "withText": True, "status": 200},  # register and run
        {"hash": document.sha256, "withText": False, "status": 200},  # hit
    ]


def test_apollo_is_refused_an_unknown_document_in_trusted_mode(key: str) -> None:
    with server("trusted") as url:
        out = node(CLIENTS / "apollo" / "run.cjs", LEDGER_URL=url, LEDGER_KEY=key)
    assert out["first"]["errorCodes"] == out["second"]["errorCodes"] == ["PERSISTED_QUERY_NOT_ALLOWED"]
    assert [request["withText"] for request in out["sent"]] == [False, True, False, True]
    assert not TrustedDocument.objects.exists()  # nothing registered
