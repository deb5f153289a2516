"""Admin sign-in is throttled (issue 9, class 8a): a guessed password stops working after a few tries.

django-axes counts failures per username and client address; at the limit the
pair is locked for the cool-off, the right password included. Before it, 30 wrong
passwords and then the right one signed in.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from access.services import api_key_create

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "the-Right-Pa55word"
ADDRESS = "203.0.113.10"


@pytest.fixture
def staff() -> User:
    return User.objects.create_superuser("operator", password=PASSWORD)


def sign_in(client: Client, password: str, username: str = "operator", address: str = ADDRESS) -> int:
    response = client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)
    return response.status_code


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_then_the_right_one_is_refused(staff: User) -> None:
    client = Client()
    statuses = [sign_in(client, f"guess-{i}") for i in range(30)]
    limit = settings.AXES_FAILURE_LIMIT
    assert statuses[: limit - 1] == [200] * (limit - 1)  # the form again, with its error
    assert set(statuses[limit - 1 :]) == {429}

    response = client.post(LOGIN, {"username": "operator", "password": PASSWORD}, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 429
    assert not signed_in(client)
    page = response.content.decode()
    assert "Sign-in locked" in page and "15 minutes" in page
    assert response["Retry-After"] == str(15 * 60)


def test_the_lock_holds_one_username_at_one_address(staff: User) -> None:
    User.objects.create_superuser("colleague", password=PASSWORD)
    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), f"guess-{i}")
    assert sign_in(Client(), PASSWORD) == 429

    elsewhere = Client()
    assert sign_in(elsewhere, PASSWORD, address="198.51.100.20") == 302 and signed_in(elsewhere)
    colleague = Client()
    assert sign_in(colleague, PASSWORD, username="colleague") == 302 and signed_in(colleague)


def test_a_successful_sign_in_forgets_the_earlier_failures(staff: User) -> None:
    for _ in range(2):
        for i in range(settings.AXES_FAILURE_LIMIT - 1):
            assert sign_in(Client(), f"guess-{i}") == 200
        client = Client()
        assert sign_in(client, PASSWORD) == 302 and signed_in(client)


def test_after_the_cool_off_the_right_password_works_again(staff: User) -> None:
    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), f"guess-{i}")
    assert sign_in(Client(), PASSWORD) == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    client = Client()
    assert sign_in(client, PASSWORD) == 302 and signed_in(client)


def test_a_locked_out_users_api_key_still_works(staff: User, settlement: object) -> None:
    _, token = api_key_create(user=staff)
    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in(Client(), f"guess-{i}")
    assert sign_in(Client(), PASSWORD) == 429

    response = Client().post(
        "/graphql",
        json.dumps({"query": "{ accounts { totalCount } }"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
        REMOTE_ADDR=ADDRESS,
    )
    assert response.status_code == 200, response.content
    assert "errors" not in response.json()
