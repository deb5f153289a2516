"""Trusted documents (persisted queries): GraphQL operations the API knows by the SHA-256 of their text."""

from __future__ import annotations

import hashlib
import re

from django.db import models

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def document_hash(text: str) -> str:
    """The name of a document: the SHA-256 of its exact text (UTF-8), lower-case hex, as Relay and Apollo compute it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TrustedDocument(models.Model):
    """One operation's text, named by its hash; revoked, never deleted, so its usage stays on record.

    ``use_count`` and ``last_used_at`` are written in batches by each process
    (``trusted.store``), not per request: they trail the truth by at most
    ``LEDGER_DOCUMENTS_RECHECK_SECONDS`` per process.
    """

    sha256 = models.CharField(max_length=64, unique=True)
    text = models.TextField()
    client = models.CharField(
        max_length=100, help_text="Who registered it: the app (import_documents --client) or apq."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    use_count = models.BigIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "trusted document"
        constraints = [
            models.CheckConstraint(condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$"), name="trusted_sha256_is_hex")
        ]

    def __str__(self) -> str:
        return f"sha256:{self.sha256[:12]}… ({self.client}{', revoked' if self.revoked_at else ''})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
