"""Staff list the stored documents with their usage and revoke them; documents are added by import_documents."""

from __future__ import annotations

import re

from django.contrib import admin
from django.http import HttpRequest

from core.adminkit import flag_column, revoke_action
from trusted.models import TrustedDocument
from trusted.services import document_revoke

OPERATION = re.compile(r"\b(query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")


@admin.register(TrustedDocument)
class TrustedDocumentAdmin(admin.ModelAdmin):
    list_display = ("short_hash", "operation", "client", "use_count", "last_used_at", "active", "created_at")
    list_filter = ("client", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("sha256", "client", "text")
    readonly_fields = ("sha256", "client", "text", "created_at", "use_count", "last_used_at", "revoked_at")
    ordering = ("-use_count", "sha256")
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # added by import_documents (which checks each entry) or, in open mode, by Apollo's clients

    def has_delete_permission(self, request: HttpRequest, obj: TrustedDocument | None = None) -> bool:
        return False  # revoked, never deleted: a client still sending the hash is told it is revoked

    @admin.display(description="sha256", ordering="sha256")
    def short_hash(self, document: TrustedDocument) -> str:
        return document.sha256[:16] + "…"

    @admin.display(description="operation")
    def operation(self, document: TrustedDocument) -> str:
        found = OPERATION.search(document.text)
        return f"{found.group(1)} {found.group(2)}" if found else "(anonymous)"

    active = flag_column("is_active", "active")
    revoke = revoke_action(
        lambda document, actor: document_revoke(document=document, actor=actor),
        "Revoke the selected documents",
        "Revoked {revoked} document(s); every process refuses them within seconds.",
    )
