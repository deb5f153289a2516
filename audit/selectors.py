"""Reads of the audit trail, for the API (``audit.schema``) and the admin."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.db.models import QuerySet

from audit.models import AuditEvent
from core.counters import counter_total

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
    events = AuditEvent.objects.all()
    if action is not None:
        events = events.filter(action=action)
    if actor is not None:
        events = events.filter(actor_label=actor.removeprefix("user:") if actor.startswith("user:") else actor)
    if since is not None:
        events = events.filter(created_at__gte=since)
    if until is not None:
        events = events.filter(created_at__lte=until)
    return events


def audit_event_count(**filters: object) -> int:
    """O(1) from the counter when unfiltered; a COUNT otherwise."""
    if all(value is None for value in filters.values()):
        return counter_total(AUDIT_EVENTS)
    return audit_event_list(**filters).count()  # type: ignore[arg-type]


def events_about(label: str) -> QuerySet[AuditEvent]:
    """The events whose subjects include ``label`` ("Account:5"): the GIN index on PostgreSQL, a scan on SQLite."""
    if connection.vendor == "postgresql":
        return AuditEvent.objects.filter(subjects__contains=[label])
    found = f"EXISTS (SELECT 1 FROM json_each({AuditEvent._meta.db_table}.subjects) AS s WHERE s.value = %s)"
    return AuditEvent.objects.extra(where=[found], params=[label])  # the label travels as a parameter


def audit_events_by_pk(pks: set[int]) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__in=pks))
