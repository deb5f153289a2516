"""API keys: bearer tokens that act as a Django user, stored only as a hash."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models


def hash_token(token: str) -> str:
    """What is stored for a token: its SHA-256.

    The token carries 256 random bits, so a fast unsalted hash is enough (no
    salt or stretching needed, unlike a password), and it lets a request find
    its key with one indexed lookup.
    """
    return hashlib.sha256(token.encode()).hexdigest()


class ApiKey(models.Model):
    """A key belongs to a user and acts with that user's permissions.

    Only the hash of the token is stored: a database leak does not leak keys.
    ``prefix`` (the token's first characters) identifies a key to staff.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    read_only = models.BooleanField(default=False, help_text="A read-only key can never mutate.")
    any_document = models.BooleanField(
        default=False, help_text="May send any GraphQL text when LEDGER_DOCUMENTS=trusted (internal tools, GraphiQL)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else ("read-only" if self.read_only else "active")
        return f"{self.prefix}… ({self.user}, {state})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
