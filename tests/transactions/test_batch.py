"""createTransactions at the service level: list order, atomicity, limits."""

import pytest

from accounts.models import Account
from core.errors import ErrorCode, LedgerError
from tests.factories import make_account
from tests.ledger_checks import assert_books_balance
from transactions.models import Transaction
from transactions.services import TransferSpec, transfer_batch_create
from transactions.verification import verify
from transactions.writer import COPY_ABOVE

pytestmark = pytest.mark.django_db


@pytest.fixture
def trio(settlement: Account) -> tuple[Account, Account, Account]:
    return make_account(10_000, "A"), make_account(0, "B"), make_account(0, "C")


def test_items_apply_in_list_order_so_money_received_can_be_spent(trio: tuple[Account, Account, Account]) -> None:
    a, b, c = trio
    results = transfer_batch_create(
        specs=[
            TransferSpec(b.pk, c.pk, 5_000, "PIX"),  # b has nothing yet: fails
            TransferSpec(a.pk, b.pk, 8_000, "PIX"),
            TransferSpec(b.pk, c.pk, 5_000, "PIX"),  # now it can
            TransferSpec(a.pk, c.pk, 3_000, "PIX"),  # a has 2,000 left: fails
        ]
    )
    assert [r.transaction.status if r.transaction else None for r in results] == [
        "FAILED",
        "COMPLETED",
        "COMPLETED",
        "FAILED",
    ]
    assert [r.error.code if r.error else None for r in results] == [
        ErrorCode.INSUFFICIENT_FUNDS,
        None,
        None,
        ErrorCode.INSUFFICIENT_FUNDS,
    ]
    for account in trio:
        account.refresh_from_db()
    assert (a.balance, b.balance, c.balance) == (2_000, 3_000, 5_000)
    assert_books_balance()


def test_non_atomic_items_stand_alone(trio: tuple[Account, Account, Account]) -> None:
    a, b, _ = trio
    refused = LedgerError(ErrorCode.ACCOUNT_NOT_FOUND, "No such account.", "senderAccount")
    results = transfer_batch_create(
        specs=[
            TransferSpec(a.pk, b.pk, 100, "PIX"),
            refused,
            TransferSpec(a.pk, a.pk, 100, "PIX"),
            TransferSpec(a.pk, b.pk, 100, "TED"),
        ]
    )
    assert results[0].transaction is not None and results[0].transaction.status == "COMPLETED"
    assert results[1].transaction is None and results[1].error == refused
    assert results[2].transaction is None and results[2].error is not None
    assert results[2].error.code == ErrorCode.SAME_ACCOUNT
    assert results[3].transaction is not None and results[3].transaction.status == "PENDING"
    assert_books_balance()


@pytest.mark.parametrize("failing", ["insufficient", "refused", "same_account"])
def test_atomic_batch_aborts_on_the_first_failure_and_applies_nothing(
    trio: tuple[Account, Account, Account], failing: str
) -> None:
    a, b, c = trio
    choices: dict[str, TransferSpec | LedgerError] = {
        "insufficient": TransferSpec(c.pk, a.pk, 1, "PIX"),
        "refused": LedgerError(ErrorCode.INVALID_AMOUNT, "Invalid amount.", "amount"),
        "same_account": TransferSpec(b.pk, b.pk, 1, "PIX"),
    }
    bad = choices[failing]
    before = Transaction.objects.count()
    results = transfer_batch_create(
        specs=[TransferSpec(a.pk, b.pk, 100, "PIX"), bad, TransferSpec(a.pk, c.pk, 100, "TED")], atomic=True
    )
    assert [r.transaction for r in results] == [None, None, None]
    codes = [r.error.code if r.error else None for r in results]
    assert codes[0] == codes[2] == ErrorCode.BATCH_ABORTED
    assert codes[1] not in (None, ErrorCode.BATCH_ABORTED)
    assert Transaction.objects.count() == before
    a.refresh_from_db()
    assert (a.balance, a.held) == (10_000, 0)


def test_atomic_batch_that_succeeds_applies_everything(trio: tuple[Account, Account, Account]) -> None:
    a, b, c = trio
    results = transfer_batch_create(
        specs=[TransferSpec(a.pk, b.pk, 100, "PIX"), TransferSpec(b.pk, c.pk, 100, "PIX")], atomic=True
    )
    assert all(r.error is None for r in results)
    c.refresh_from_db()
    assert c.balance == 100


def test_batch_size_limits(trio: tuple[Account, Account, Account]) -> None:
    a, b, _ = trio
    with pytest.raises(LedgerError) as empty:
        transfer_batch_create(specs=[])
    assert (empty.value.code, empty.value.field) == (ErrorCode.INVALID_INPUT, "transactions")
    with pytest.raises(LedgerError) as large:
        transfer_batch_create(specs=[TransferSpec(a.pk, b.pk, 1, "PIX")] * 1001)
    assert large.value.code == ErrorCode.BATCH_TOO_LARGE
    assert not Transaction.objects.filter(sender=a).exists()
    results = transfer_batch_create(specs=[TransferSpec(a.pk, b.pk, 1, "PIX")] * 1000)
    assert len(results) == 1000 and all(r.error is None for r in results)
    b.refresh_from_db()
    assert b.balance == 1000 and b.entry_count == 1000
    assert_books_balance()


def test_idempotency_keys_inside_and_across_batches(trio: tuple[Account, Account, Account]) -> None:
    a, b, _ = trio
    first = transfer_batch_create(
        specs=[
            TransferSpec(a.pk, b.pk, 100, "PIX", idempotency_key="x"),
            TransferSpec(a.pk, b.pk, 100, "PIX", idempotency_key="x"),  # same request twice: one transaction
            TransferSpec(a.pk, b.pk, 200, "PIX", idempotency_key="x"),  # same key, other request
        ]
    )
    assert first[0].transaction is not None and first[1].transaction is not None
    assert first[0].transaction.pk == first[1].transaction.pk
    assert first[2].error is not None and first[2].error.code == ErrorCode.IDEMPOTENCY_KEY_REUSED
    again = transfer_batch_create(specs=[TransferSpec(a.pk, b.pk, 100, "PIX", idempotency_key="x")])
    assert again[0].transaction is not None and again[0].transaction.pk == first[0].transaction.pk
    b.refresh_from_db()
    assert b.balance == 100


@pytest.mark.parametrize("size", [COPY_ABOVE, COPY_ABOVE + 1, 300])
def test_both_write_paths_leave_a_ledger_every_check_accepts(settlement: Account, size: int) -> None:
    """Up to COPY_ABOVE transactions ride in the one statement, more go by COPY: both must write the same ledger."""
    accounts = [make_account(1_000, f"W{i}") for i in range(12)]
    before = Transaction.objects.count()
    specs = []
    for i in range(size - 1):
        sender, receiver = i % 12, (i * 5 + 1) % 12
        receiver = receiver if receiver != sender else (sender + 1) % 12
        specs.append(TransferSpec(accounts[sender].pk, accounts[receiver].pk, 1 + i % 7, "PIX" if i % 4 else "TED"))
    specs.append(TransferSpec(accounts[0].pk, accounts[1].pk, 10**9, "PIX"))  # recorded FAILED
    results = transfer_batch_create(specs=specs)
    assert [r.error.code for r in results if r.error] == [ErrorCode.INSUFFICIENT_FUNDS]
    assert Transaction.objects.count() - before == size
    assert_books_balance()
    failed = [outcome.check for outcome in verify() if not outcome.finding.ok]
    assert failed == []
