"""Writing the audit trail: one event per business operation, rejections included."""

from __future__ import annotations

from typing import Any

from audit.models import AuditEvent
from core.context import get_request_id


def actor_fields(actor: Any) -> dict[str, Any]:
    """The user behind a request, or a system label for commands and workers."""
    if actor is None:
        return {"actor": None, "actor_label": "system"}
    if isinstance(actor, str):
        return {"actor": None, "actor_label": actor}
    return {"actor": actor if actor.pk else None, "actor_label": actor.get_username()[:150]}


def audit_event_build(
    *, actor: Any, action: str, outcome: str, object_type: str = "", object_id: object = "", payload: dict | None = None
) -> AuditEvent:
    return AuditEvent(
        **actor_fields(actor),
        action=action,
        outcome=outcome,
        object_type=object_type,
        object_id="" if object_id in (None, "") else str(object_id),
        request_id=get_request_id(),
        payload=payload or {},
    )


def audit_event_record(
    *, actor: Any, action: str, outcome: str, object_type: str = "", object_id: object = "", payload: dict | None = None
) -> AuditEvent:
    """Writes one event in the caller's database transaction."""
    event = audit_event_build(
        actor=actor, action=action, outcome=outcome, object_type=object_type, object_id=object_id, payload=payload
    )
    event.save(force_insert=True)
    return event
