"""Whole-ledger assertions shared by the service and race tests."""

from __future__ import annotations

from django.db.models import Count, Q, Sum

from accounts.models import Account, AccountKind
from transactions.models import Entry, Transaction, TransactionStatus


def assert_books_balance() -> None:
    """The contract's invariants, computed independently of the services' own bookkeeping."""
    assert (Account.objects.aggregate(total=Sum("balance"))["total"] or 0) == 0
    for account in Account.objects.all():
        entries = list(
            Entry.objects.filter(account=account)
            .order_by("sequence")
            .values_list("sequence", "amount", "balance_after")
        )
        assert [s for s, _, _ in entries] == list(range(1, len(entries) + 1)), account.pk
        running = 0
        for _, amount, balance_after in entries:
            running += amount
            assert balance_after == running
        assert account.balance == running
        pending_out = (
            Transaction.objects.filter(sender=account, status=TransactionStatus.PENDING).aggregate(total=Sum("amount"))[
                "total"
            ]
            or 0
        )
        assert account.held == pending_out
        if account.kind == AccountKind.CUSTOMER:
            assert account.balance >= -account.credit_limit
            assert account.balance - account.held >= -account.credit_limit
    posted = Transaction.objects.annotate(n=Count("entries"), total=Sum("entries__amount"))
    assert not posted.filter(Q(status__in=["COMPLETED", "REVERTED"]) & ~Q(n=2)).exists()
    assert not posted.filter(Q(status__in=["COMPLETED", "REVERTED"]) & ~Q(total=0)).exists()
    assert not posted.filter(Q(status__in=["PENDING", "FAILED"]) & ~Q(n=0)).exists()


def assert_ledger_verifies() -> None:
    """Every check of verify_ledger holds (money controls' invariants included)."""
    from transactions.verification import verify

    breached = [(o.check.name, o.finding.sample) for o in verify() if not o.finding.ok]
    assert breached == []
