"""The audit trail in the API: ``Query.auditEvents``, ``Account.auditEvents``, ``Transaction.auditEvents``.

Readable with ``audit.view_auditevent`` (the type's ``view_permission``,
enforced wherever an event appears, ``core.graphql.execution``). An event's
``subjects`` are loaded for a whole page at once, one statement per type, and
show only the objects the caller may view: the rest are left out, not refused.
The GraphQL layer of this app reads the types of the apps below it, so it
lives here, above them, and ``ledger_project.schema`` hands it the node
registry (``use_registry``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

import graphene
from graphene import relay

from accounts.models import Account
from accounts.schema import AccountType
from audit import selectors
from audit.models import AuditEvent
from core.graphql.connection import KeysetConnection, Ordering, Page, edges_of, paginate
from core.graphql.extend import extend_object_type
from core.graphql.loaders import current_loaders
from core.graphql.node import NodeRegistry
from core.graphql.resolvers import ModelNode
from core.graphql.scalars import DateTime
from core.permissions import has_permission
from transactions.models import Transaction
from transactions.schema import TransactionNode

VIEW_AUDIT = "audit.view_auditevent"
_registry: list[NodeRegistry] = []


def use_registry(registry: NodeRegistry) -> None:
    """The node types an event's subjects resolve to (the root schema's registry)."""
    _registry[:] = [registry]


class AuditEventNode(ModelNode):
    class Meta:
        name = "AuditEvent"
        description = "One business operation as it was asked and answered, rejections included. Append-only."

    view_permission: ClassVar[str] = VIEW_AUDIT

    action = graphene.NonNull(
        graphene.String,
        description="The operation: createTransaction, reverseTransaction, captureTransaction, freezeAccount, "
        "settle, ...",
    )
    outcome = graphene.NonNull(
        graphene.String, description="COMPLETED, PENDING, FAILED, or the LedgerErrorCode of a rejection."
    )
    actor = graphene.NonNull(
        graphene.String,
        description="user:<username> for API keys and sessions, system:<command> for commands and workers.",
    )
    request_id = graphene.String(description="The X-Request-ID of the request that caused it; null for commands.")
    created_at = graphene.NonNull(DateTime, description="When it was recorded.")
    detail = graphene.NonNull(
        graphene.String, description="The operation's input and result as a JSON object, as text."
    )
    subjects = graphene.NonNull(
        graphene.List(graphene.NonNull(relay.Node)), description="The accounts and transactions it touched."
    )

    model = AuditEvent
    by_pk = selectors.audit_events_by_pk

    @staticmethod
    def resolve_actor(event: AuditEvent, info: graphene.ResolveInfo) -> str:
        return selectors.api_actor(event)

    @staticmethod
    def resolve_request_id(event: AuditEvent, info: graphene.ResolveInfo) -> str | None:
        return event.request_id if event.request_id not in ("", "-") else None  # "-": no request (core.context)

    @staticmethod
    def resolve_detail(event: AuditEvent, info: graphene.ResolveInfo) -> str:
        return json.dumps(event.payload or {}, sort_keys=True)

    @staticmethod
    def resolve_subjects(event: AuditEvent, info: graphene.ResolveInfo) -> list[Any]:
        found = current_loaders().load(event, "subjects", lambda group: _load_subjects(info, group))
        return [found[label] for label in event.subjects or [] if label in found]


def _load_subjects(info: graphene.ResolveInfo, events: list[AuditEvent]) -> dict[str, Any]:
    """Every subject of ``events`` the caller may view, by label: one statement per type."""
    (registry,) = _registry
    wanted: dict[str, set[int]] = {}
    for event in events:
        for label in event.subjects or []:
            kind, _, pk = label.partition(":")
            if kind in registry.types and pk.isdigit():
                wanted.setdefault(kind, set()).add(int(pk))
    found: dict[str, Any] = {}
    for kind, pks in wanted.items():
        node_type, permission = registry.types[kind]
        if has_permission(info.context, permission):
            rows = current_loaders().register(node_type.get_nodes(pks))
            found.update((f"{kind}:{row.pk}", row) for row in rows)
    return found


class AuditEventEdge(graphene.ObjectType):
    node = graphene.NonNull(AuditEventNode, description="The event.")
    cursor = graphene.NonNull(graphene.String, description="Pass it as `after` (or `before`) to page on from here.")


class AuditEventConnection(KeysetConnection):
    edges = edges_of(AuditEventEdge)


PAGE_ARGS = {
    "first": graphene.Int(description="Page size from the start, 0 to 100."),
    "after": graphene.String(description="Cursor: the page starts after it."),
    "last": graphene.Int(description="Page size from the end, 0 to 100."),
    "before": graphene.String(description="Cursor: the page ends before it."),
}


class AuditQueries(graphene.ObjectType):
    audit_events = graphene.Field(
        graphene.NonNull(AuditEventConnection),
        args={
            **PAGE_ARGS,
            "action": graphene.String(description="Only events of this operation (createTransaction, ...)."),
            "actor": graphene.String(description="Only events of this actor, as `actor` shows it (user:ana)."),
            "since": DateTime(description="Only events recorded at or after this instant."),
            "until": DateTime(description="Only events recorded at or before this instant."),
        },
        description="Default order: createdAt ASC. Filters combine with AND.",
    )

    @staticmethod
    def resolve_audit_events(
        root: Any,
        info: graphene.ResolveInfo,
        action: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        **page: Any,
    ) -> Page:
        filters: dict[str, Any] = {"action": action, "actor": actor, "since": since, "until": until}
        return paginate(
            selectors.audit_event_list(**filters),
            Ordering("audit:created_at:asc", ("created_at",)),
            total=lambda: selectors.audit_event_count(**filters),
            **page,
        )


def _events_of(kind: str) -> Any:
    def resolve(obj: Account | Transaction, info: graphene.ResolveInfo, **page: Any) -> Page:
        events = selectors.events_about(f"{kind}:{obj.pk}")
        ordering = Ordering(f"{kind.lower()}:{obj.pk}:audit:created_at:asc", ("created_at",))
        return paginate(events, ordering, total=events.count, **page)

    return resolve


for _type, _kind in ((AccountType, "Account"), (TransactionNode, "Transaction")):
    extend_object_type(
        _type,
        audit_events=graphene.Field(
            graphene.NonNull(AuditEventConnection),
            args=dict(PAGE_ARGS),
            resolver=_events_of(_kind),
            description=f"Audit events that touched this {_kind.lower()}. Default order: createdAt ASC.",
        ),
    )
