"""Making and revoking API keys: the only writes of this app, each one audited."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from access.keycache import KEYS
from access.models import ApiKey, hash_token
from audit.services import audit_event_record

TOKEN_PREFIX = "ldg_"  # lets secret scanners and people recognize a ledger key
PREFIX_LENGTH = 12  # "ldg_" + 8 random characters: what staff see in the admin


@transaction.atomic
def api_key_create(
    *, user: User, name: str = "", read_only: bool = False, any_document: bool = False
) -> tuple[ApiKey, str]:
    """Returns the key and its token; the token is shown once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)  # 256 random bits
    key = ApiKey.objects.create(
        user=user,
        name=name[:100],
        prefix=token[:PREFIX_LENGTH],
        key_hash=hash_token(token),
        read_only=read_only,
        any_document=any_document,
    )
    _audited(user, "createApiKey", key, read_only=read_only, any_document=any_document)
    return key, token


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: Any = None) -> bool:
    """Revokes the key from its next request on; False when it was already revoked."""
    revoked = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    # This process forgets its cached keys now and again at commit; the others on the trigger's NOTIFY.
    KEYS.clear()
    transaction.on_commit(KEYS.clear)
    key.refresh_from_db(fields=["revoked_at"])
    if revoked:
        _audited(actor, "revokeApiKey", key)
    return bool(revoked)


def _audited(actor: Any, action: str, key: ApiKey, **payload: Any) -> None:
    """The audit event of a key operation: the key's prefix names it (never its token)."""
    audit_event_record(
        actor=actor,
        action=action,
        outcome="OK",
        about=key,
        payload={**payload, "prefix": key.prefix},
    )
