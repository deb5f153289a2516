"""Append-only audit events: who did what, from which request.

The database refuses UPDATE and DELETE on this table (a trigger installed by
the first migration), so the trail cannot be rewritten, not even by hand.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False
    )
    actor_label = models.CharField(max_length=150, blank=True, help_text="Username or system actor.")
    action = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=32, help_text="OK, FAILED or the error code of a rejection.")
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    payload = models.JSONField(default=dict, blank=True)
    subjects = models.JSONField(
        null=True,
        blank=True,
        help_text='The objects it touched, as ["Account:5", "Transaction:9"] (audit.services.subjects_of).',
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["created_at", "id"], name="audit_event_created_keyset")]

    def __str__(self) -> str:
        return f"{self.action} {self.outcome} {self.object_type}:{self.object_id}"
