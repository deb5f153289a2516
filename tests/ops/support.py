"""Helpers for the ops suite: the repository root and a clean environment for subprocesses."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
BIN = Path(PYTHON).parent


def clean_env(**values: str) -> dict[str, str]:
    """Only what a container would have: PATH, HOME and the given variables.

    The test process's own DATABASE_URL, DEBUG, SECURE_* must not leak into a
    subprocess that claims to check the production settings.
    """
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(values)
    return env
