"""Writing the audit trail: one event per business operation, rejections included.

A refused operation is audited one way (``audit_rejection``): ``refuse`` records
it and raises; ``audited_refusals`` does that for an operation that raises from
inside its database transaction, once that transaction has rolled back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn, ParamSpec, TypeVar

from django.db.models import Model

from audit.models import AuditEvent
from core.context import get_operation_input, get_request_id
from core.errors import LedgerError

P = ParamSpec("P")
R = TypeVar("R")


def actor_fields(actor: Any) -> dict[str, Any]:
    """The user behind a request, or a system label for commands and workers."""
    if actor is None:
        return {"actor": None, "actor_label": "system"}
    if isinstance(actor, str):
        return {"actor": None, "actor_label": actor}
    return {"actor": actor if actor.pk else None, "actor_label": actor.get_username()[:150]}


def subjects_of(*objects: Model | None) -> list[str] | None:
    """The labels ("Account:5") of what ``objects`` touch: each one's ``audit_subjects()``, or itself.

    A transaction names its two accounts too, so an account's trail holds
    every operation that moved its money. None when there is nothing.
    """
    labels: dict[str, None] = {}  # ordered and deduplicated in O(1) per label: a batch names thousands
    for obj in objects:
        if obj is None or obj.pk is None:
            continue
        own = getattr(obj, "audit_subjects", None)
        labels.update(dict.fromkeys(own() if callable(own) else [f"{type(obj).__name__}:{obj.pk}"]))
    return list(labels) or None


def audit_event_build(
    *,
    actor: Any,
    action: str,
    outcome: str,
    about: Model | None = None,
    payload: dict | None = None,
    touched: tuple[Model | None, ...] = (),
) -> AuditEvent:
    """One event, unsaved; ``about`` is the object it concerns, named by its model and pk; ``touched`` are
    further objects it touched (a batch's transactions): the event's subjects are all of them.

    Inside an API operation the payload starts with its ``input`` (``core.context.operation_input``).
    """
    asked = get_operation_input()
    if asked is not None:
        payload = {"input": asked, **(payload or {})}
    return AuditEvent(
        subjects=subjects_of(about, *touched),
        **actor_fields(actor),
        action=action,
        outcome=outcome,
        object_type=type(about).__name__ if about is not None else "",
        object_id=str(about.pk) if about is not None else "",
        request_id=get_request_id(),
        payload=payload or {},
    )


def audit_event_record(
    *, actor: Any, action: str, outcome: str, about: Model | None = None, payload: dict | None = None
) -> AuditEvent:
    """Writes one event in the caller's database transaction."""
    event = audit_event_build(actor=actor, action=action, outcome=outcome, about=about, payload=payload)
    event.save(force_insert=True)
    return event


def audit_rejection(*, actor: Any, action: str, error: LedgerError) -> AuditEvent:
    """The audit event of a refused operation (unsaved): its code as the outcome, the error as the payload.

    Marks the error as audited: whoever answers it later writes no second event.
    """
    error.audited = True
    return audit_event_build(actor=actor, action=action, outcome=error.code, payload={"error": error.as_dict()})


def audit_unrecorded(*, actor: Any, action: str, error: LedgerError) -> None:
    """Records ``error``'s event unless one was already built for it (a service refused it).

    The last stop of every refusal of an operation (``core.graphql.mutations``):
    a refusal that no service saw (a permission gate, an input a decoder
    refused) gets its event here, one that a service recorded gets no second.
    """
    if not error.audited:
        audit_rejection(actor=actor, action=action, error=error).save(force_insert=True)


def refuse(*, actor: Any, action: str, error: LedgerError) -> NoReturn:
    """Records the refusal's audit event, then raises the error.

    Outside a database transaction the event commits on its own; inside one
    (``audited_refusals``, a caller's block) it joins it.
    """
    audit_rejection(actor=actor, action=action, error=error).save(force_insert=True)
    raise error


def audited_refusals(action: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Every ``LedgerError`` the operation raises is audited once, after its database transaction rolled back.

    So a refusal writes its audit event and nothing else, wherever in the
    operation it happens, and the operation raises instead of returning the
    error for its caller to raise. The operation takes its actor as the
    keyword argument ``actor``.
    """

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except LedgerError as error:
                refuse(actor=kwargs.get("actor"), action=action, error=error)

        return wrapper

    return decorate
