"""Transactions and entries in the admin: read-only, with reverse and cancel as actions.

Nothing here writes a row. The two actions call the same services as the
GraphQL mutations (``transaction_reverse``, ``transaction_cancel``), with the
staff user as the actor, so the rules, the locks and the audit trail are the
ones every other entry point gets.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from audit.models import AuditEvent
from core.adminkit import (
    ReadOnlyAdmin,
    SearchByTerm,
    change_link,
    clipped,
    instant,
    link_column,
    money_cell,
    money_column,
    permission_check,
)
from core.documents import normalize_document
from core.errors import LedgerError
from core.graphql.node import decode_id
from transactions.models import Entry, Transaction, TransactionStatus, TransactionType
from transactions.selectors import PARTIES
from transactions.services import transaction_cancel, transaction_capture, transaction_reverse

# Status badge colours: green done, amber waiting, red failed, grey undone.
BADGE_COLOURS: dict[str, str] = {
    TransactionStatus.COMPLETED: "#1a7f37",
    TransactionStatus.PENDING: "#9a6700",
    TransactionStatus.FAILED: "#cf222e",
    TransactionStatus.REVERTED: "#57606a",
}


def status_badge(status: str) -> SafeString:
    return format_html(
        '<span class="ledger-badge" style="background:{};color:#fff;padding:1px 8px;border-radius:9px;'
        'font-size:11px;font-weight:600;white-space:nowrap">{}</span>',
        BADGE_COLOURS.get(status, "#57606a"),
        status,
    )


def typed_pk(term: str, type_name: str) -> int | None:
    """A pk typed by staff: ``123`` or the API's global ID (``VHJhbnNhY3Rpb246MTIz``), read as the API reads it."""
    term = term.strip()
    if term.isascii() and term.isdigit():
        return int(term)
    return decode_id(term, type_name)


def _transaction_match(term: str, field: str) -> Q:
    """``field`` is the transaction the term names (a pk or a global ID); nothing when it names none."""
    pk = typed_pk(term, "Transaction")
    return Q(**{field: pk}) if pk is not None else Q(pk__in=[])


class TypeFilter(admin.SimpleListFilter):
    """By type, named as the API and the bank name them: PIX, TED, DOC (not "Pix", "Ted")."""

    title = "type"
    parameter_name = "type__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, value) for value in TransactionType.values]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Transaction]) -> QuerySet[Transaction]:
        return queryset.filter(type=self.value()) if self.value() else queryset


@admin.register(Transaction)
class TransactionAdmin(SearchByTerm, ReadOnlyAdmin):
    list_display = ("id", "type_code", "status_display", "sender_name", "receiver_name", "amount_display", "created_at")
    list_filter = ("status", TypeFilter, "created_at")
    list_select_related = PARTIES
    date_hierarchy = "created_at"
    search_fields = ("idempotency_key",)
    search_help_text = "A transaction ID (123 or its API global ID) or an idempotency key."
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    actions = ("reverse_selected", "cancel_selected", "capture_selected")
    fieldsets = (
        (None, {"fields": ("id", "type_code", "status_display", "failure_reason", "amount_display", "description")}),
        ("Parties", {"fields": ("sender_link", "receiver_link")}),
        ("Time", {"fields": ("created_at", "due_at", "completed_at")}),
        ("Reversal", {"fields": ("reversal_links",)}),
        ("Idempotency", {"fields": ("idempotency_key", "idempotency_scope"), "classes": ("collapse",)}),
        ("Entries", {"fields": ("entries_table",)}),
        ("Audit trail", {"fields": ("audit_trail",)}),
    )
    readonly_fields = (
        "id",
        "type_code",
        "status_display",
        "amount_display",
        "sender_link",
        "receiver_link",
        "reversal_links",
        "entries_table",
        "audit_trail",
    )

    def search_match(self, term: str) -> Q:
        """Exact matches only: an ID or a key is a lookup, not a LIKE scan over the table."""
        return Q(idempotency_key=term) | _transaction_match(term, "pk")

    @admin.display(description="Type", ordering="type")
    def type_code(self, obj: Transaction) -> str:
        return obj.type

    @admin.display(description="Status", ordering="status")
    def status_display(self, obj: Transaction) -> SafeString:
        return status_badge(obj.status)

    amount_display = money_column("amount", "Amount", ordering="amount")
    sender_link = link_column("sender", "Sender")
    sender_name = link_column("sender", "Sender", ordering="sender__name", label="name")
    receiver_name = link_column("receiver", "Receiver", ordering="receiver__name", label="name")
    receiver_link = link_column("receiver", "Receiver")

    @admin.display(description="Reversal")
    def reversal_links(self, obj: Transaction) -> SafeString:
        parts = []
        if obj.reverses_id is not None:
            parts.append(format_html("Reverses {}", change_link(obj.reverses, f"{obj.reverses}")))
        for reversal in Transaction.objects.filter(reverses=obj).order_by("pk"):
            parts.append(format_html("Reversed by {}", change_link(reversal, f"{reversal}")))
        if not parts:
            return mark_safe("—")
        return format_html_join(mark_safe("<br>"), "{}", ((part,) for part in parts))

    @admin.display(description="Entries")
    def entries_table(self, obj: Transaction) -> SafeString:
        entries = list(obj.entries.select_related("account").order_by("id"))
        if not entries:
            return format_html("No entries: {} transactions post none.", obj.status)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td class='ledger-money'>{}</td>"
            "<td class='ledger-money'>{}</td><td>{}</td></tr>",
            (
                (
                    change_link(entry.account),
                    entry.sequence,
                    money_cell(entry.amount),
                    money_cell(entry.balance_after),
                    clipped(entry.hash, 12),
                )
                for entry in entries
            ),
        )
        return format_html(
            "<table class='ledger-table'><thead><tr><th>Account</th><th>Sequence</th><th class='ledger-money'>Amount"
            "</th><th class='ledger-money'>Balance after</th><th>Hash</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="Audit trail")
    def audit_trail(self, obj: Transaction) -> SafeString:
        events = AuditEvent.objects.filter(object_type="Transaction", object_id=str(obj.pk)).order_by("id")
        rows = format_html_join(
            "",
            "<tr><td class='ledger-instant'>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            (
                (
                    instant(event.created_at),
                    event.actor_label or "—",
                    event.action,
                    event.outcome,
                    event.request_id or "—",
                )
                for event in events
            ),
        )
        if not rows:
            return mark_safe("No audit events name this transaction.")
        return format_html(
            "<table class='ledger-table'><thead><tr><th>At</th><th>Actor</th><th>Action</th><th>Outcome</th>"
            "<th>Request ID</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    # --- Actions: the only writes, through the services --------------------------------

    has_reverse_permission = permission_check("transactions.reverse_transaction")
    has_cancel_permission = permission_check("transactions.add_transaction")

    @admin.action(description="Reverse the selected transactions", permissions=["reverse"])
    def reverse_selected(self, request: HttpRequest, queryset: QuerySet[Transaction]) -> None:
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                _original, reversal = transaction_reverse(transaction_id=pk, actor=request.user)
            except LedgerError as error:
                self.message_user(request, f"Transaction {pk}: {error.code} — {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"Transaction {pk} reversed by REVERSAL {reversal.pk}.", messages.SUCCESS)

    @admin.action(description="Capture the selected MANUAL holds in full", permissions=["cancel"])
    def capture_selected(self, request: HttpRequest, queryset: QuerySet[Transaction]) -> None:
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                tx = transaction_capture(transaction_id=pk, actor=request.user)
            except LedgerError as error:
                self.message_user(request, f"Transaction {pk}: {error.code} — {error.message}", messages.ERROR)
            else:
                self.message_user(
                    request, f"Transaction {pk} captured: {tx.captured_amount} centavos.", messages.SUCCESS
                )

    @admin.action(description="Cancel (void) the selected pending transactions", permissions=["cancel"])
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Transaction]) -> None:
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                transaction_cancel(transaction_id=pk, actor=request.user)
            except LedgerError as error:
                self.message_user(request, f"Transaction {pk}: {error.code} — {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"Transaction {pk} cancelled; its hold is released.", messages.SUCCESS)


@admin.register(Entry)
class EntryAdmin(SearchByTerm, ReadOnlyAdmin):
    list_display = ("id", "account", "sequence", "transaction_link", "amount_display", "balance_display", "created_at")
    list_filter = ("created_at",)
    list_select_related = ("account", "transaction")
    search_fields = ("=account__document",)
    search_help_text = "An account's document, or a transaction ID."
    ordering = ("-id",)
    show_full_result_count = False
    readonly_fields = ("amount_display", "balance_display", "transaction_link")
    fields = (
        "account",
        "transaction_link",
        "sequence",
        "amount_display",
        "balance_display",
        "created_at",
        "prev_hash",
        "hash",
    )

    def search_match(self, term: str) -> Q:
        return Q(account__document=normalize_document(term)) | _transaction_match(term, "transaction_id")

    transaction_link = link_column("transaction", "Transaction", ordering="transaction")
    amount_display = money_column("amount", "Amount", ordering="amount")
    balance_display = money_column("balance_after", "Balance after")
