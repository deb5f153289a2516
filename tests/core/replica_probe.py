"""Runs code in a fresh process whose settings have a replica alias on the test database.

Both aliases reach the same server (a primary: it has replayed everything), so
the code tells them apart by which alias's session ran a statement.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def run_probe(code: str, **env: str) -> dict[str, object]:
    """Runs ``code`` (which prints one JSON object last) with DATABASE_REPLICA_URL set; returns that object."""
    real = connection.settings_dict
    base = f"postgres://{real['USER']}@{real['HOST']}:{real['PORT']}/{real['NAME']}"
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ledger_project.settings",
        "SECRET_KEY": "test-only-not-secret",
        "DATABASE_URL": base,
        "DATABASE_REPLICA_URL": base,
        "ALLOWED_HOSTS": "testserver",
        **env,
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result
