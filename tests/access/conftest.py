"""Access tests speak plain HTTP to the app (production settings would redirect to HTTPS)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def plain_http(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False
