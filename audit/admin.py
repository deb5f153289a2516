"""The audit trail in the admin: who did what, from which request. Append-only, so read-only."""

from __future__ import annotations

import json

from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from audit.models import AuditEvent
from core.adminkit import ReadOnlyAdmin, clipped

# The admin page of each object type an event may name.
_OBJECT_PAGES = {"Transaction": "admin:transactions_transaction_change", "Account": "admin:accounts_account_change"}


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor_label", "action", "outcome", "object_link", "request_short")
    list_filter = ("action", "outcome", "object_type", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("=request_id", "=object_id", "=actor_label")
    search_help_text = "A request ID, an object ID or an actor's username (exact)."
    ordering = ("-id",)
    show_full_result_count = False
    fields = (
        "created_at",
        "actor_label",
        "action",
        "outcome",
        "object_link",
        "request_id",
        "payload_pretty",
    )
    readonly_fields = ("object_link", "payload_pretty")

    @admin.display(description="Object", ordering="object_id")
    def object_link(self, obj: AuditEvent) -> SafeString | str:
        if not obj.object_type:
            return "—"
        label = f"{obj.object_type} {obj.object_id}"
        try:
            url = reverse(_OBJECT_PAGES[obj.object_type], args=[obj.object_id])
        except (KeyError, NoReverseMatch):
            return label
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description="Request ID", ordering="request_id")
    def request_short(self, obj: AuditEvent) -> SafeString | str:
        """Its first 8 characters (the whole ID on hover, and on the event's page): the list fits 1280 px."""
        return clipped(obj.request_id)

    @admin.display(description="Payload")
    def payload_pretty(self, obj: AuditEvent) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False, sort_keys=True))
