"""Admin tests: the Django test client against the real database, over "HTTPS"."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client


@pytest.fixture(autouse=True)
def _plain_http(settings: pytest.FixtureRequest) -> None:
    # Production settings redirect plain HTTP to HTTPS; the test client speaks plain HTTP.
    settings.SECURE_SSL_REDIRECT = False  # type: ignore[attr-defined]


@pytest.fixture
def viewer_client(db: None) -> Client:
    """A staff member who may look at the books but not reverse or cancel."""
    user = get_user_model().objects.create_user(username="viewer", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_account", "view_transaction", "view_entry", "view_auditevent"])
    )
    client = Client()
    client.force_login(user)
    return client
