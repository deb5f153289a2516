"""Accounts in the admin: what staff look up, never a way to edit the books.

Every balance is written by ``transactions.services`` under row locks; the admin
only reads, but for the account controls: freeze, unfreeze, close (with a
reason) and set a credit limit, actions that call the same services as the API
with the staff member as actor (each service asks its own permission again).
The account page adds its latest entries (each with its counterparty, type and
description) and, beside the balances, its balance at a chosen instant, computed
from the entries (the ``balance_after`` of the last entry posted by then), which
is what a customer's statement would say.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from accounts.models import Account
from core.adminkit import (
    ReadOnlyAdmin,
    SearchByTerm,
    change_link,
    document_display,
    instant,
    money,
    money_cell,
    money_column,
    permission_check,
)
from core.documents import normalize_document
from core.errors import LedgerError
from core.money import parse_amount

LATEST_ENTRIES = 20


def parse_instant(value: str) -> datetime | None:
    """``2026-11-25`` (the end of that day) or ``2026-11-25T14:30``, in the current time zone."""
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            instant = datetime.combine(day, time.max)
        else:
            instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    if timezone.is_naive(instant):
        instant = timezone.make_aware(instant)
    return instant


def balance_at(account: Account, instant: datetime) -> tuple[int, int | None]:
    """(balance in centavos, sequence of the last entry) as of ``instant``, from the entries."""
    last = (
        account.entries.filter(created_at__lte=instant)
        .order_by("-sequence")
        .values_list("balance_after", "sequence")
        .first()
    )
    return (last[0], last[1]) if last else (0, None)


def status_action(service: str, done: str, description: str) -> Callable[..., None]:
    """An account status change (freeze, unfreeze, close) as an action: ``transactions.services.<service>``
    on each selected account, with the form's reason and the staff member as actor.

    The service is imported when the action runs: accounts imports transactions only
    inside functions, so that there is no module-level import circle (docs/ARCHITECTURE.md).
    """

    @admin.action(description=description, permissions=["change_account_status"])
    def action(model_admin: AccountAdmin, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        from transactions import services

        change = getattr(services, service)
        model_admin._each(
            request, queryset, done, lambda pk, reason: change(account_id=pk, reason=reason, actor=request.user)
        )

    return action


class AccountControlForm(ActionForm):
    """The inputs of the account actions, beside the action menu: a reason, or a credit limit."""

    reason = forms.CharField(required=False, max_length=1000, help_text="Freeze, unfreeze, close: 1 to 500 characters.")
    credit_limit = forms.CharField(required=False, max_length=32, help_text='Set credit limit: e.g. "1500.00".')


@admin.register(Account)
class AccountAdmin(SearchByTerm, ReadOnlyAdmin):
    list_display = (
        "name",
        "document_cell",
        "kind",
        "balance_display",
        "held_display",
        "available_display",
        "created_at",
    )
    list_filter = ("kind", "status")
    action_form = AccountControlForm
    actions = ("freeze_selected", "unfreeze_selected", "close_selected", "set_credit_limit_selected")
    search_fields = ("name", "=document")
    search_help_text = "Part of a name, or a whole CPF/CNPJ (punctuation optional)."
    ordering = ("-id",)
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("name", "document_cell", "document_type", "kind")}),
        ("Status", {"fields": ("status", "status_reason", "closed_at")}),
        (
            "Money",
            {
                "fields": (
                    "balance_display",
                    "held_display",
                    "available_display",
                    "credit_limit_display",
                    "spendable_display",
                )
            },
        ),
        ("Counters", {"fields": ("entry_count", "sent_count", "received_count", "created_at", "updated_at")}),
        ("Latest entries", {"fields": ("latest_entries",)}),
    )
    readonly_fields = (
        "document_cell",
        "balance_display",
        "held_display",
        "available_display",
        "credit_limit_display",
        "spendable_display",
        "latest_entries",
    )

    def search_match(self, term: str) -> Q:
        """A name by substring; a document as staff type it, "529.982.247-25" or "52998224725"."""
        return Q(name__icontains=term) | Q(document=normalize_document(term))

    @admin.display(description="Document", ordering="document")
    def document_cell(self, obj: Account) -> SafeString:
        return document_display(obj.document)

    balance_display = money_column("balance", "Balance", ordering="balance")
    held_display = money_column("held", "Held")
    available_display = money_column("available", "Available")
    credit_limit_display = money_column("credit_limit", "Credit limit")
    spendable_display = money_column("spendable", "Spendable")

    # --- Actions: the account controls, through the services ----------------------------

    has_change_account_status_permission = permission_check("accounts.change_account_status")
    has_change_credit_limit_permission = permission_check("accounts.change_credit_limit")

    freeze_selected = status_action("account_freeze", "frozen", "Freeze the selected accounts (reason required)")
    unfreeze_selected = status_action("account_unfreeze", "active", "Unfreeze the selected accounts (reason required)")
    close_selected = status_action("account_close", "closed", "Close the selected accounts (reason required; final)")

    @admin.action(description="Set the credit limit of the selected accounts", permissions=["change_credit_limit"])
    def set_credit_limit_selected(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        from transactions.services import account_set_credit_limit

        def apply(pk: int, raw: str) -> Account:
            return account_set_credit_limit(
                account_id=pk, credit_limit=parse_amount(raw, field="creditLimit", allow_zero=True), actor=request.user
            )

        self._each(request, queryset, "given its new credit limit", apply, field="credit_limit")

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[Account],
        done: str,
        change: Any,
        field: str = "reason",
    ) -> None:
        """Runs ``change(pk, input)`` per selected account and reports each outcome; a refusal stops no other."""
        value = request.POST.get(field, "")
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                change(pk, value)
            except LedgerError as error:
                self.message_user(request, f"Account {pk}: {error.code} — {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"Account {pk} {done}.", messages.SUCCESS)

    @admin.display(description=f"Latest {LATEST_ENTRIES} entries")
    def latest_entries(self, obj: Account) -> SafeString:
        entries = list(
            obj.entries.select_related("transaction__sender", "transaction__receiver").order_by("-sequence")[
                :LATEST_ENTRIES
            ]
        )
        if not entries:
            return mark_safe("<p>No entries yet.</p>")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td class='ledger-instant'>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td class='ledger-money'>{}</td><td class='ledger-money'>{}</td></tr>",
            (
                (
                    entry.sequence,
                    instant(entry.created_at),
                    change_link(entry.transaction, f"#{entry.transaction_id}"),
                    entry.transaction.type,
                    change_link(entry.counterparty),
                    entry.transaction.description or "—",
                    money_cell(entry.amount),
                    money_cell(entry.balance_after),
                )
                for entry in entries
            ),
        )
        all_entries = reverse("admin:transactions_entry_changelist") + f"?account__id__exact={obj.pk}"
        return format_html(
            "<table class='ledger-table' id='latest-entries'><thead><tr><th>#</th><th>Posted at</th>"
            "<th>Transaction</th><th>Type</th><th>Counterparty</th><th>Description</th>"
            "<th class='ledger-money'>Amount</th><th class='ledger-money'>Balance after</th></tr></thead>"
            "<tbody>{}</tbody></table>"
            "<p><a href='{}'>All {} entries</a></p>",
            rows,
            all_entries,
            obj.entry_count,
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Adds the balance-at-date answer; computed per request, so nothing is kept on ``self``."""
        context = dict(extra_context or {})
        raw = request.GET.get("at", "")
        context["balance_at_input"] = raw
        context["time_zone"] = timezone.get_current_timezone_name()
        if raw:
            at = parse_instant(raw)
            account = self.get_object(request, object_id)
            if at is None:
                context["balance_at_error"] = "Pick a date and time (or type 2026-11-25T14:30, or a date alone)."
            elif account is not None:
                cents, sequence = balance_at(account, at)
                context["balance_at"] = {"instant": instant(at), "amount": money(cents), "sequence": sequence}
                # What the picker shows back: the instant asked for, to the second.
                context["balance_at_input"] = timezone.localtime(at).strftime("%Y-%m-%dT%H:%M:%S")
        return super().change_view(request, object_id, form_url, extra_context=context)
