"""Staff see and revoke keys here; keys are made with ``create_api_key`` (the token is shown once, by the command)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from access.models import ApiKey
from access.services import api_key_revoke
from core.adminkit import StaffPages, flag_column, revoke_action


@admin.register(ApiKey)
class ApiKeyAdmin(StaffPages, admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "read_only", "any_document", "active", "created_at", "revoked_at")
    list_filter = ("read_only", "any_document", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("prefix", "user__username", "name")
    list_select_related = ("user",)
    readonly_fields = ("user", "name", "prefix", "key_hash", "read_only", "any_document", "created_at", "revoked_at")
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a key is made by create_api_key, which can show its token once

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # revoked, never deleted: the audit trail names it

    active = flag_column("is_active", "active")
    revoke = revoke_action(
        lambda key, actor: api_key_revoke(key=key, actor=actor),
        "Revoke the selected API keys",
        "Revoked {revoked} key(s); they are refused from their next request on.",
    )
