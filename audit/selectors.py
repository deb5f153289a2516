"""Reads of the audit trail, for the API (``audit.schema``) and the admin."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from audit.models import AuditEvent
from core.counters import count_matching

AUDIT_EVENTS = "audit_events"  # the counter audit/0004's trigger bumps for every event


def api_actor(event: AuditEvent) -> str:
    """``user:<username>`` for people (API keys, sessions), ``system:<command>`` for commands and workers."""
    label = event.actor_label or "system"
    if ":" in label or label == "system":  # usernames hold no colon: a label with one is a system actor's
        return label
    return f"user:{label}"


def audit_event_list(
    *,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Events matching every filter given; ``actor`` in the API's form (``user:ana``, ``system:settle``)."""
    lookups = {
        "action": action,
        "actor_label": None if actor is None else actor.removeprefix("user:"),
        "created_at__gte": since,
        "created_at__lte": until,
    }
    return AuditEvent.objects.filter(**{lookup: value for lookup, value in lookups.items() if value is not None})


def audit_event_count(**filters: object) -> int:
    """O(1) from the counter when unfiltered; a COUNT otherwise."""
    return count_matching(AUDIT_EVENTS, audit_event_list, filters)


def events_about(label: str) -> QuerySet[AuditEvent]:
    """The events whose subjects include ``label`` ("Account:5"): the GIN index on PostgreSQL, a scan on SQLite."""
    if connection.vendor == "postgresql":
        return AuditEvent.objects.filter(subjects__contains=[label])
    found = f"EXISTS (SELECT 1 FROM json_each({AuditEvent._meta.db_table}.subjects) AS s WHERE s.value = %s)"
    return AuditEvent.objects.extra(where=[found], params=[label])  # the label travels as a parameter


def audit_events_by_pk(pks: set[int]) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__in=pks))
