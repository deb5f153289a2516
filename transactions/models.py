"""Transactions and their ledger entries.

Every row here is written by ``transactions.services``, through the one door
``AccountBook.save`` (``transactions.posting``, ``transactions.writer``). The database is
the last word on the rules it can state: CHECKs, UNIQUEs and the triggers of
migration 0002 (see docs/INVARIANTS.md).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from accounts.models import Account
from core.choices import member_descriptions

# The choices below are the one declaration of the ledger's vocabulary: the GraphQL enums are
# generated from them (``core.graphql.enums.to_enum``, with each ``description``), and the
# services and ``verify_ledger`` read the sets that follow them. A new transaction type is a
# member here (plus its migration), its place in the sets, and the checks of the service that
# creates it.


class TransactionType(models.TextChoices):
    """How the money moves: the payment rail, or the bank's own operations (DEPOSIT, REVERSAL)."""

    PIX = "PIX"
    TED = "TED"
    DOC = "DOC"
    TRANSFER = "TRANSFER"
    DEPOSIT = "DEPOSIT"
    REVERSAL = "REVERSAL"

    description = member_descriptions(
        PIX="Instant payment: COMPLETED (or FAILED) in the answer to createTransaction.",
        TED="Same-day wire: born PENDING with the amount held, COMPLETED when the settlement worker posts it "
        "(or FAILED if cancelled first). Poll its status or read it again later.",
        DOC="Next-day transfer: like TED, PENDING with the amount held until the settlement worker posts it.",
        TRANSFER="A transfer between two accounts of this bank: COMPLETED (or FAILED) at once.",
        DEPOSIT="Money entering a customer account from the settlement account.",
        REVERSAL="Created by reverseTransaction; moves the money of a completed transaction back.",
    )


class TransactionStatus(models.TextChoices):
    """Where a transaction stands. Only COMPLETED and REVERTED transactions have moved money."""

    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    REVERTED = "REVERTED"

    description = member_descriptions(
        PENDING="Accepted, not yet posted (TED, DOC): the amount is held from the sender's availableBalance. "
        "It becomes COMPLETED when settled, or FAILED (CANCELLED) if cancelled first.",
        COMPLETED="The money moved: two entries are posted. Final, unless reversed.",
        FAILED="Recorded, but no money moved; failureReason says why. Final: a new attempt is a new "
        "transaction with a new idempotency key.",
        REVERTED="It had COMPLETED and was then undone by a REVERSAL (reversedBy); both stay in the history.",
    )


class FailureReason(models.TextChoices):
    """Why a transaction is FAILED."""

    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"

    description = member_descriptions(
        INSUFFICIENT_FUNDS="The sender's available balance was below the amount when the transaction was applied.",
        CANCELLED="A PENDING transaction cancelled by cancelTransaction before it settled.",
        EXPIRED="A MANUAL hold that reached holdExpiresAt without being captured.",
    )


class CaptureMode(models.TextChoices):
    """Whether a transfer moves (or, for TED/DOC, settles) by itself, or waits for captureTransaction."""

    AUTOMATIC = "AUTOMATIC"
    MANUAL = "MANUAL"

    description = member_descriptions(
        AUTOMATIC="PIX/TRANSFER move at once; TED/DOC settle through the clearing queue.",
        MANUAL="Authorize only: the amount is held and the transaction stays PENDING until captureTransaction, "
        "cancelTransaction or holdExpiresAt.",
    )


# Sent by createTransaction(s); a DEPOSIT and a REVERSAL each have their own operation.
TRANSFER_TYPES = frozenset({TransactionType.PIX, TransactionType.TED, TransactionType.DOC, TransactionType.TRANSFER})
# Held when created, posted later by the settlement worker (or cancelled before).
PENDING_TYPES = frozenset({TransactionType.TED, TransactionType.DOC})
# The types a client may create with captureMode MANUAL (an authorization captured later).
MANUAL_TYPES = frozenset({TransactionType.PIX, TransactionType.TRANSFER})
# The statuses of a transaction whose two entries are written: the ones verify_ledger expects them for.
POSTED_STATUSES = frozenset({TransactionStatus.COMPLETED, TransactionStatus.REVERTED})
# What a transaction's status change may write (the core columns never change: migration 0002's trigger).
STATUS_FIELDS = ("status", "failure_reason", "completed_at", "captured_amount", "reversed_amount", "capture_key")
MAX_DESCRIPTION = 500


class Transaction(models.Model):
    sender = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="sent_transactions")
    receiver = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="received_transactions")
    amount = models.BigIntegerField(help_text="Centavos, always > 0.")
    type = models.CharField(max_length=10, choices=TransactionType.choices)
    status = models.CharField(max_length=10, choices=TransactionStatus.choices)
    failure_reason = models.CharField(max_length=20, choices=FailureReason.choices, null=True, blank=True)
    description = models.CharField(max_length=MAX_DESCRIPTION, blank=True, default="")
    idempotency_scope = models.CharField(max_length=100, null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(db_index=True)
    due_at = models.DateTimeField(null=True, blank=True, help_text="When a PENDING transaction may settle.")
    completed_at = models.DateTimeField(null=True, blank=True)
    # Partial reversals: an original may have several REVERSALs, their sum kept in reversed_amount.
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals")
    capture_mode = models.CharField(max_length=10, choices=CaptureMode.choices, default=CaptureMode.AUTOMATIC)
    hold_expires_at = models.DateTimeField(null=True, blank=True, help_text="When a MANUAL hold lapses.")
    captured_amount = models.BigIntegerField(
        null=True, blank=True, help_text="Centavos that moved (a partial capture moves less than amount)."
    )
    reversed_amount = models.BigIntegerField(default=0, help_text="Sum of this transaction's REVERSALs, centavos.")
    # "<scope>:<key>" of the captureTransaction that captured it with an idempotency key.
    capture_key = models.CharField(max_length=360, null=True, blank=True)
    metadata = models.JSONField(
        null=True,
        blank=True,
        help_text="The client's labels, set at creation and never changed (core.metadata; transactions/0005).",
    )

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
            # Money moved exactly when posted, never more than authorized.
            models.CheckConstraint(
                name="transaction_captured_iff_posted",
                condition=(
                    Q(status__in=sorted(POSTED_STATUSES))
                    & Q(captured_amount__gt=0)
                    & Q(captured_amount__lte=models.F("amount"))
                )
                | (~Q(status__in=sorted(POSTED_STATUSES)) & Q(captured_amount__isnull=True)),
            ),
            # Racing partial reversals never give back more than moved; REVERTED exactly when all of it.
            models.CheckConstraint(
                name="transaction_reversed_within_captured",
                condition=Q(reversed_amount=0)
                | (Q(reversed_amount__gt=0) & Q(reversed_amount__lte=models.F("captured_amount"))),
            ),
            models.CheckConstraint(
                name="transaction_reverted_iff_fully_reversed",
                condition=(Q(status=TransactionStatus.REVERTED) & Q(reversed_amount=models.F("captured_amount")))
                | (~Q(status=TransactionStatus.REVERTED) & ~Q(reversed_amount=models.F("captured_amount")))
                | Q(captured_amount__isnull=True),
            ),
            models.CheckConstraint(
                name="transaction_hold_expiry_only_manual",
                condition=Q(hold_expires_at__isnull=True) | Q(capture_mode=CaptureMode.MANUAL),
            ),
            models.UniqueConstraint(
                fields=["capture_key"], condition=Q(capture_key__isnull=False), name="transaction_capture_idempotency"
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
            models.Index(
                fields=["hold_expires_at", "id"], condition=Q(status="PENDING"), name="transaction_pending_expiry"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk} {self.status}"

    def audit_subjects(self) -> list[str]:
        """How audit events name it, with its two accounts (audit.services.subjects_of)."""
        return [f"Transaction:{self.pk}", f"Account:{self.sender_id}", f"Account:{self.receiver_id}"]


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

    @property
    def counterparty(self) -> Account:
        """The other side of the entry's transaction: the receiver for the sender's entry, the sender otherwise."""
        tx = self.transaction
        return tx.receiver if tx.sender_id == self.account_id else tx.sender
