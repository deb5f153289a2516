"""Fixtures of the operator commands' tests."""

from __future__ import annotations

import pytest

from accounts.models import Account
from tests.factories import make_account
from transactions.services import TransferSpec, transfer_create


@pytest.fixture
def busy_ledger(settlement: Account) -> tuple[Account, Account]:
    """Two accounts with every status on the books: COMPLETED, PENDING and FAILED."""
    a, b = make_account(100_000), make_account(5_000)
    transfer_create(spec=TransferSpec(a.pk, b.pk, 1_000, "PIX"))
    transfer_create(spec=TransferSpec(b.pk, a.pk, 500, "TED"))
    transfer_create(spec=TransferSpec(b.pk, a.pk, 10**8, "PIX"))  # FAILED: INSUFFICIENT_FUNDS
    return a, b
