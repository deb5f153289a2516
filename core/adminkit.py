"""Building blocks for the apps' admins: read-only ledger pages and money as staff read it.

Ledger rows are written by the services only, so every ledger ModelAdmin
starts from ``ReadOnlyAdmin``; amounts are int centavos until the last moment,
where ``money`` groups them for a human ("1,234.50").
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.money import to_decimal


def money(cents: int) -> str:
    """Centavos as staff read them: "1,234.50", "-10.00"."""
    return f"{to_decimal(cents):,}"


def money_cell(cents: int) -> SafeString:
    """Tabular figures, unbroken, so that columns of amounts line up."""
    return format_html('<span style="font-variant-numeric: tabular-nums; white-space: nowrap">{}</span>', money(cents))


class ReadOnlyAdmin(admin.ModelAdmin):
    """The admin may look at the books, never touch them: no add, change or delete for anyone.

    Staff with the model's view permission (or superusers) see every page read-only;
    the only writes are explicit actions that call a service.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
