"""API keys: only a hash is stored, a prefix names them, revocation is audited and immediate."""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from access.models import ApiKey
from access.selectors import api_key_for_token
from access.services import api_key_create, api_key_revoke
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice")


def test_the_token_is_never_stored_only_its_sha256(alice: User) -> None:
    key, token = api_key_create(user=alice, name="mobile app")
    assert token.startswith("ldg_") and len(token) == 47  # 256 random bits, url-safe
    assert key.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert key.prefix == token[:12]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM access_apikey")
        rows = cursor.fetchall()
    assert token not in repr(rows)


def test_tokens_are_unique_and_found_by_their_hash(alice: User) -> None:
    tokens = {api_key_create(user=alice)[1] for _ in range(20)}
    assert len(tokens) == 20
    some = next(iter(tokens))
    found = api_key_for_token(token=some)
    assert found is not None and found.user == alice
    assert api_key_for_token(token=some[:-1]) is None
    assert api_key_for_token(token="") is None
    assert api_key_for_token(token="x" * 10_000) is None


def test_the_hand_written_lookup_loads_what_the_orm_loads(alice: User) -> None:
    """Every column of the key and its user, converted as the ORM converts them (datetimes, booleans)."""
    alice.last_login = timezone.now()
    alice.is_staff = True
    alice.save()
    key, token = api_key_create(user=alice, name="app", read_only=True)
    found = api_key_for_token(token=token)
    assert found is not None
    expected_key = ApiKey.objects.get(pk=key.pk)
    expected_user = User.objects.get(pk=alice.pk)
    for field in ApiKey._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected_key, field.attname), field.name
    for field in User._meta.concrete_fields:
        value = getattr(found.user, field.attname)
        assert value == getattr(expected_user, field.attname), field.name
        assert type(value) is type(getattr(expected_user, field.attname)), field.name
    assert found.user.last_login is not None and found.user.last_login.tzinfo is not None
    assert found.user.is_staff is True and found.user.has_perm("anything") is False


def test_an_inactive_users_key_is_refused(alice: User) -> None:
    _, token = api_key_create(user=alice)
    alice.is_active = False
    alice.save()
    assert api_key_for_token(token=token) is None


def test_revoking_is_idempotent_and_audited(alice: User) -> None:
    key, token = api_key_create(user=alice)
    staff = User.objects.create_superuser("staff", password="x")
    assert api_key_revoke(key=key, actor=staff) is True
    assert key.revoked_at is not None and not key.is_active
    assert api_key_for_token(token=token) is None
    assert api_key_revoke(key=key, actor=staff) is False
    events = AuditEvent.objects.filter(object_type="ApiKey", object_id=str(key.pk)).order_by("pk")
    assert [(e.action, e.actor_label) for e in events] == [("createApiKey", "alice"), ("revokeApiKey", "staff")]
    assert events[1].payload == {"prefix": key.prefix}


def test_a_read_only_flag_is_kept_and_shown(alice: User) -> None:
    key, token = api_key_create(user=alice, read_only=True)
    found = api_key_for_token(token=token)
    assert found is not None and found.read_only
    assert str(key) == f"{key.prefix}… (alice, read-only)"
    assert ApiKey.objects.filter(read_only=True).count() == 1
