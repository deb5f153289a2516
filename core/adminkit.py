"""Building blocks for the apps' admins: read-only ledger pages, money, dates and documents as staff read them.

Ledger rows are written by the services only, so every ledger ModelAdmin
starts from ``ReadOnlyAdmin``; amounts are int centavos until the last moment,
where ``money`` groups them for a human ("1,234.50"), right-aligned in tabular
figures. Every page shares one stylesheet (``StaffPages``: lists that fit
1280 px, amounts right-aligned), one date format with its time zone
(``instant``; core/formats) and documents as people write them
(``document_display``: 529.982.247-25).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.documents import format_document
from core.money import to_decimal

NOTHING = "—"


def money(cents: int) -> str:
    """Centavos as staff read them: "1,234.50", "-10.00"."""
    return f"{to_decimal(cents):,}"


def money_cell(cents: int) -> SafeString:
    """Right-aligned tabular figures, unbroken, so that columns of amounts line up (ledger/admin.css)."""
    return format_html('<span class="ledger-amount">{}</span>', money(cents))


def instant(value: datetime | None) -> str:
    """An instant in the admin's one format, with its time zone: "2026-11-25 14:30:05 UTC"."""
    if value is None:
        return NOTHING
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")


def document_display(document: str) -> SafeString:
    """A CPF or CNPJ as people write it, unbroken: 529.982.247-25, 11.222.333/0001-81."""
    return format_html('<span class="ledger-document">{}</span>', format_document(document))


def clipped(text: str, width: int = 8) -> SafeString | str:
    """A long identifier cut to ``width`` characters, the whole of it on hover (request IDs, hashes)."""
    if len(text) <= width:
        return text or NOTHING
    return format_html('<code title="{}">{}…</code>', text, text[:width])


def change_link(obj: Any, label: str | None = None) -> SafeString:
    """A link to ``obj``'s admin page."""
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or str(obj))


Column = Callable[[Any, Any], SafeString]


def money_column(attr: str, description: str, *, ordering: str | None = None) -> Column:
    """A list column (or read-only field) showing the centavos held in ``attr`` as a ``money_cell``."""

    @admin.display(description=description, ordering=ordering)
    def column(model_admin: Any, obj: Any) -> SafeString:
        return money_cell(getattr(obj, attr))

    return column


def link_column(attr: str, description: str, *, ordering: str | None = None, label: str | None = None) -> Column:
    """A list column (or read-only field) linking to the object held in ``attr``, named by its ``label`` attribute."""

    @admin.display(description=description, ordering=ordering)
    def column(model_admin: Any, obj: Any) -> SafeString:
        target = getattr(obj, attr)
        return change_link(target, getattr(target, label) if label else None)

    return column


def flag_column(attr: str, description: str) -> Callable[[Any, Any], bool]:
    """A yes/no list column (the admin's icons) showing the truth of ``attr``."""

    @admin.display(boolean=True, description=description)
    def column(model_admin: Any, obj: Any) -> bool:
        return bool(getattr(obj, attr))

    return column


def permission_check(permission: str) -> Callable[[Any, HttpRequest], bool]:
    """The ``has_<name>_permission`` method that an action's ``permissions=["<name>"]`` asks for.

    It only hides the action from staff without ``permission``: the service it
    calls asks for the permission again.
    """

    def check(model_admin: Any, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(permission))

    return check


def revoke_action(revoke: Callable[[Any, Any], bool], description: str, done: str) -> Callable[..., None]:
    """The action of rows that are revoked, never deleted (API keys, trusted documents).

    ``revoke(row, actor)`` is the app's service, which says whether it revoked the
    row (False when it already was); ``done`` reports how many, as ``{revoked}``.
    """

    @admin.action(description=description, permissions=["change"])
    def action(model_admin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        revoked = sum(revoke(row, request.user) for row in queryset)
        messages.success(request, done.format(revoked=revoked))

    return action


class SearchByTerm:
    """The admin's search box as one ``Q`` per term (``search_match``), instead of a LIKE over every search field."""

    def search_match(self, term: str) -> Q:
        """What the stripped, non-empty ``term`` matches."""
        raise NotImplementedError

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(self.search_match(term)), False


class StaffPages:
    """The stylesheet every ledger admin page shares (lists, amounts, dates, documents)."""

    class Media:
        css = {"all": ("ledger/admin.css",)}


class ReadOnlyAdmin(StaffPages, admin.ModelAdmin):
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
