"""Staff revoke keys in the admin; they cannot make, edit or delete them there."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from access.models import ApiKey
from access.services import api_key_create

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/access/apikey/"


def test_the_revoke_action_refuses_the_key_from_its_next_request(admin_client: Client, settlement: object) -> None:
    owner = User.objects.create_superuser("owner", password="x")
    key, token = api_key_create(user=owner)
    other, _ = api_key_create(user=owner)
    query = json.dumps({"query": "{ accounts { totalCount } }"})
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert Client().post("/graphql", query, content_type="application/json", **headers).status_code == 200

    listing = admin_client.get(CHANGELIST)
    assert listing.status_code == 200
    page = listing.content.decode()
    assert key.prefix in page and token not in page and key.key_hash not in page.split("<tbody>")[1]

    response = admin_client.post(CHANGELIST, {"action": "revoke", "_selected_action": [key.pk]}, follow=True)
    assert "Revoked 1 key(s)" in response.content.decode()
    assert Client().post("/graphql", query, content_type="application/json", **headers).status_code == 401
    assert ApiKey.objects.get(pk=other.pk).is_active


def test_keys_are_made_by_the_command_and_never_deleted(admin_client: Client) -> None:
    key, _ = api_key_create(user=User.objects.create_user("owner"))
    assert admin_client.get(CHANGELIST + "add/").status_code == 403
    assert admin_client.get(f"{CHANGELIST}{key.pk}/delete/").status_code == 403
    change = admin_client.post(f"{CHANGELIST}{key.pk}/change/", {"read_only": "on", "name": "renamed"})
    assert change.status_code in (200, 302)
    key.refresh_from_db()
    assert not key.read_only and key.name == ""
