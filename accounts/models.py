"""Accounts: who holds money, and how much, in integer centavos."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.choices import member_descriptions
from core.documents import DocumentType, format_document

SETTLEMENT_DOCUMENT = "00000000000191"  # the bank's own CNPJ in the demo; any valid one works
SETTLEMENT_ACCOUNT_ID = 0  # fixed by migration 0002, outside the pk sequence


class AccountKind(models.TextChoices):
    """Whose account it is: a customer's, or the bank's own."""

    CUSTOMER = "CUSTOMER", "Customer"
    SETTLEMENT = "SETTLEMENT", "Settlement"

    description = member_descriptions(
        CUSTOMER="A customer's account. Its balance can never be negative.",
        SETTLEMENT="The bank's own settlement account: the counterparty of deposits. May be negative.",
    )


class AccountStatus(models.TextChoices):
    """What an account may do: move money both ways (ACTIVE), only receive (FROZEN), nothing (CLOSED)."""

    ACTIVE = "ACTIVE"
    FROZEN = "FROZEN"
    CLOSED = "CLOSED"

    description = member_descriptions(
        ACTIVE="Money moves in and out under the usual rules.",
        FROZEN="Money may arrive but not leave (a court order, a fraud hold): debits get ACCOUNT_FROZEN.",
        CLOSED="Final: nothing moves in or out (ACCOUNT_CLOSED).",
    )


MAX_STATUS_REASON = 500


class Account(models.Model):
    """A customer's account, or the bank's one settlement account.

    ``balance`` is the posted balance (the sum of the entries); ``held`` is what
    PENDING outgoing transactions reserve; ``credit_limit`` is the overdraft the
    bank grants (both may go down to ``-credit_limit``); ``status`` says whether
    money may leave (ACTIVE) or only arrive (FROZEN), or nothing moves (CLOSED).
    All are written only by ``transactions.services`` under this row's lock. The counters make per-account
    totals O(1): ``entry_count`` doubles as the last entry's ``sequence``.
    """

    name = models.CharField(max_length=200)
    document = models.CharField(max_length=14, unique=True)
    document_type = models.CharField(max_length=4, choices=[(t.value, t.value) for t in DocumentType])
    kind = models.CharField(max_length=10, choices=AccountKind.choices, default=AccountKind.CUSTOMER)
    balance = models.BigIntegerField(default=0, help_text="Posted balance in centavos.")
    held = models.BigIntegerField(default=0, help_text="Centavos held by PENDING outgoing transactions.")
    entry_count = models.BigIntegerField(default=0)
    sent_count = models.BigIntegerField(default=0)
    received_count = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    metadata = models.JSONField(
        null=True, blank=True, help_text="The client's labels: a list of {key, value}, in its order (core.metadata)."
    )
    status = models.CharField(max_length=10, choices=AccountStatus.choices, default=AccountStatus.ACTIVE)
    status_reason = models.CharField(max_length=MAX_STATUS_REASON, null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When the account was closed.")
    credit_limit = models.BigIntegerField(default=0, help_text="Overdraft granted, in centavos (>= 0).")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [
            ("change_account_status", "Can freeze, unfreeze and close an account"),
            ("change_credit_limit", "Can set an account's credit limit"),
        ]
        constraints = [
            # Neither balance nor balance - held below -credit_limit (the old "never negative" at limit 0).
            models.CheckConstraint(
                name="account_customer_within_credit_limit",
                condition=Q(kind=AccountKind.SETTLEMENT)
                | (
                    Q(held__gte=0)
                    & Q(balance__gte=-models.F("credit_limit"))
                    & Q(balance__gte=models.F("held") - models.F("credit_limit"))
                ),
            ),
            models.CheckConstraint(name="account_credit_limit_not_negative", condition=Q(credit_limit__gte=0)),
            models.CheckConstraint(
                name="account_status_valid", condition=Q(status__in=[s.value for s in AccountStatus])
            ),
            # A CLOSED account is empty and knows when it closed.
            models.CheckConstraint(
                name="account_closed_is_empty",
                condition=~Q(status=AccountStatus.CLOSED) | (Q(balance=0) & Q(held=0) & Q(closed_at__isnull=False)),
            ),
            models.CheckConstraint(name="account_kind_valid", condition=Q(kind__in=[k.value for k in AccountKind])),
            # At most one settlement account: the counterparty of every deposit.
            models.UniqueConstraint(
                fields=["kind"], condition=Q(kind=AccountKind.SETTLEMENT), name="account_one_settlement"
            ),
        ]
        indexes = [
            models.Index(fields=["created_at", "id"], name="account_created_keyset"),
            models.Index(fields=["name", "id"], name="account_name_keyset"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({format_document(self.document)})"

    def audit_subjects(self) -> list[str]:
        """How audit events name it (audit.services.subjects_of)."""
        return [f"Account:{self.pk}"]

    @property
    def available(self) -> int:
        """Centavos the account may still spend: posted balance minus holds."""
        return self.balance - self.held

    @property
    def spendable(self) -> int:
        """What a new debit may take now: available balance plus the credit limit."""
        return self.available + self.credit_limit

    @property
    def transaction_count(self) -> int:
        return self.sent_count + self.received_count
