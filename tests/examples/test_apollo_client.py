"""docs/CLIENTS.md's Apollo Client and graphql-codegen configurations, run against a live server.

``examples/apollo-client`` is a Node project pinned by its package-lock.json
(the Makefile installs it with ``npm ci``). Here it runs as a client developer
would run it: graphql-codegen (with the scalars mapping) over the committed
schema.graphql and the example's operations, the TypeScript compiler over code
that needs Decimal and DateTime to be ``string``, then Apollo Client 4 against
gunicorn on the test database: open accounts, transfer, page with fetchMore,
read a statement, meet a business error and top-level errors. Any step that no
longer fits the API fails the build. Without Node or the installed packages it
skips on a developer's machine and fails in CI (``CI`` set).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from access.services import api_key_create
from tests.conftest import ensure_settlement_account
from tests.ops.live import env_flag, gunicorn_server
from tests.ops.support import ROOT, clean_env

pytestmark = pytest.mark.postgres_only

EXAMPLE = ROOT / "examples" / "apollo-client"


def _node() -> str:
    node = shutil.which("node")
    missing = (
        "Node.js is not installed"
        if node is None
        else "the example's packages are not installed (make examples, i.e. npm ci in examples/apollo-client)"
        if not (EXAMPLE / "node_modules" / ".package-lock.json").exists()
        else None
    )
    if missing is None and node is not None:
        return node
    if env_flag("CI"):
        pytest.fail(str(missing))
    pytest.skip(str(missing))


def _run(command: list[str], env: dict[str, str], cwd: Path = EXAMPLE) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_codegen_with_the_scalars_mapping_types_money_and_instants_as_strings() -> None:
    node = _node()
    env = clean_env()
    _run([node, "codegen.mjs"], env)
    generated = (EXAMPLE / "generated" / "graphql.ts").read_text()
    assert "balanceAfter: string" in generated and "createdAt: string" in generated
    assert "any" not in generated.split()  # no scalar fell back to `any`
    _run([node, "node_modules/typescript/bin/tsc", "-p", "."], env)


def test_the_apollo_client_example_runs_against_a_live_server(transactional_db: None) -> None:
    node = _node()
    ensure_settlement_account()
    user = get_user_model().objects.create_superuser(username="app", email="app@example.com", password=None)
    _, token = api_key_create(user=user, name="apollo example")
    with gunicorn_server("apollo-example") as server:
        output = _run([node, "src/tour.mjs"], clean_env(LEDGER_URL=server.url, LEDGER_API_KEY=token))
    lines = output.strip().splitlines()
    assert lines[-1] == "8 passed, 0 failed", output
    assert [line for line in lines if line.startswith("ok - ")] == lines[:-1], output
    for step in ("fetchMore", "statement", "business error", "top-level error", "UNAUTHENTICATED"):
        assert any(step in line for line in lines), (step, output)
