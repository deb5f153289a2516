"""Reading API keys."""

from __future__ import annotations

from access.models import ApiKey, hash_token

MAX_TOKEN_LENGTH = 200  # real tokens are 47 characters; anything far longer is not worth hashing


def api_key_for_token(*, token: str) -> ApiKey | None:
    """The active key of a token, its user joined, in one statement; None if unknown, revoked or inactive."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return (
        ApiKey.objects.select_related("user")
        .filter(key_hash=hash_token(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
