"""Transactions and their ledger entries.

Every row here is written by ``transactions.services`` only. The database is
the last word on the rules it can state: CHECKs, UNIQUEs and the triggers of
migration 0002 (see docs/INVARIANTS.md).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from accounts.models import Account


class TransactionType(models.TextChoices):
    PIX = "PIX"
    TED = "TED"
    DOC = "DOC"
    TRANSFER = "TRANSFER"
    DEPOSIT = "DEPOSIT"
    REVERSAL = "REVERSAL"


class TransactionStatus(models.TextChoices):
    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    REVERTED = "REVERTED"


class FailureReason(models.TextChoices):
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    CANCELLED = "CANCELLED"


class Transaction(models.Model):
    sender = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="sent_transactions")
    receiver = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="received_transactions")
    amount = models.BigIntegerField(help_text="Centavos, always > 0.")
    type = models.CharField(max_length=10, choices=TransactionType.choices)
    status = models.CharField(max_length=10, choices=TransactionStatus.choices)
    failure_reason = models.CharField(max_length=20, choices=FailureReason.choices, null=True, blank=True)
    description = models.CharField(max_length=500, blank=True, default="")
    idempotency_scope = models.CharField(max_length=100, null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(db_index=True)
    due_at = models.DateTimeField(null=True, blank=True, help_text="When a PENDING transaction may settle.")
    completed_at = models.DateTimeField(null=True, blank=True)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")

    class Meta:
        permissions = [
            ("add_deposit", "Can credit an account from the settlement account"),
            ("reverse_transaction", "Can reverse a completed transaction"),
        ]
        constraints = [
            models.CheckConstraint(name="transaction_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(name="transaction_distinct_parties", condition=~Q(sender=models.F("receiver"))),
            models.CheckConstraint(
                name="transaction_failure_reason_iff_failed",
                condition=(Q(status=TransactionStatus.FAILED) & Q(failure_reason__isnull=False))
                | (~Q(status=TransactionStatus.FAILED) & Q(failure_reason__isnull=True)),
            ),
            models.UniqueConstraint(
                fields=["idempotency_scope", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="transaction_idempotency_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["created_at", "id"], name="transaction_created_keyset"),
            models.Index(fields=["sender", "created_at", "id"], name="transaction_sender_keyset"),
            models.Index(fields=["receiver", "created_at", "id"], name="transaction_receiver_keyset"),
            models.Index(fields=["due_at", "id"], condition=Q(status="PENDING"), name="transaction_pending_due"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk} {self.status}"


class Entry(models.Model):
    """One posting on one account; append-only, hash-chained per account."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField(help_text="Signed centavos: negative out, positive in.")
    balance_after = models.BigIntegerField()
    sequence = models.BigIntegerField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "entries"
        constraints = [
            models.UniqueConstraint(fields=["account", "sequence"], name="entry_account_sequence_unique"),
            models.CheckConstraint(name="entry_amount_nonzero", condition=~Q(amount=0)),
            models.CheckConstraint(name="entry_sequence_positive", condition=Q(sequence__gte=1)),
        ]
        indexes = [models.Index(fields=["account", "created_at", "sequence"], name="entry_account_time")]

    def __str__(self) -> str:
        return f"{self.account_id}#{self.sequence} {self.amount:+d}"
