"""Partial reversals (money-controls.md, "Partial reversals"): refunds until the captured amount is used up."""

from __future__ import annotations

import pytest

from accounts.models import Account
from core.errors import ErrorCode
from tests.factories import make_account
from tests.ledger_checks import assert_books_balance, assert_ledger_verifies
from tests.support_money import manual, refused
from transactions.models import Transaction
from transactions.services import (
    TransferSpec,
    account_close,
    account_freeze,
    account_set_credit_limit,
    transaction_capture,
    transaction_reverse,
    transfer_create,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def payment(settlement: Account) -> Transaction:
    """A COMPLETED PIX of 10,000 from a customer to a merchant."""
    customer, merchant = make_account(50_000), make_account(0)
    tx = transfer_create(spec=TransferSpec(customer.pk, merchant.pk, 10_000, "PIX")).transaction
    assert tx is not None
    return tx


def balances(tx: Transaction) -> tuple[int, int]:
    return Account.objects.get(pk=tx.sender_id).balance, Account.objects.get(pk=tx.receiver_id).balance


def test_a_partial_reversal_moves_that_amount_back_and_the_original_stays_completed(payment: Transaction) -> None:
    original, reversal = transaction_reverse(transaction_id=payment.pk, amount=3_000)
    assert (reversal.type, reversal.status, reversal.amount, reversal.reverses_id) == (
        "REVERSAL",
        "COMPLETED",
        3_000,
        payment.pk,
    )
    assert (reversal.sender_id, reversal.receiver_id) == (payment.receiver_id, payment.sender_id)
    stored = Transaction.objects.get(pk=payment.pk)
    assert (stored.status, stored.reversed_amount, original.reversed_amount) == ("COMPLETED", 3_000, 3_000)
    assert balances(payment) == (43_000, 7_000)
    assert_ledger_verifies()


def test_reversals_add_up_until_the_last_one_reverts_the_original(payment: Transaction) -> None:
    _, first = transaction_reverse(transaction_id=payment.pk, amount=2_500)
    _, second = transaction_reverse(transaction_id=payment.pk, amount=2_500)
    original, last = transaction_reverse(transaction_id=payment.pk)  # default: what remains, 5,000
    assert last.amount == 5_000
    stored = Transaction.objects.get(pk=payment.pk)
    assert (stored.status, stored.reversed_amount, original.status) == ("REVERTED", 10_000, "REVERTED")
    assert list(stored.reversals.order_by("pk").values_list("pk", flat=True)) == [first.pk, second.pk, last.pk]
    assert balances(payment) == (50_000, 0)
    error = refused(lambda: transaction_reverse(transaction_id=payment.pk, amount=1))
    assert error.code == ErrorCode.ALREADY_REVERTED
    assert_books_balance()
    assert_ledger_verifies()


def test_the_default_reverses_everything_at_once(payment: Transaction) -> None:
    original, reversal = transaction_reverse(transaction_id=payment.pk)
    assert (original.status, original.reversed_amount, reversal.amount) == ("REVERTED", 10_000, 10_000)


def test_more_than_remains_is_amount_too_large_and_changes_nothing(payment: Transaction) -> None:
    transaction_reverse(transaction_id=payment.pk, amount=6_000)
    count = Transaction.objects.count()
    error = refused(lambda: transaction_reverse(transaction_id=payment.pk, amount=4_001))
    assert (error.code, error.field) == (ErrorCode.AMOUNT_TOO_LARGE, "amount")
    assert Transaction.objects.count() == count
    assert Transaction.objects.get(pk=payment.pk).reversed_amount == 6_000


def test_a_bad_reversal_amount_is_invalid_amount(payment: Transaction) -> None:
    for amount in (0, -1):
        assert refused(lambda a=amount: transaction_reverse(transaction_id=payment.pk, amount=a)).code == (
            ErrorCode.INVALID_AMOUNT
        )


def test_a_partial_capture_is_reversible_up_to_what_moved(settlement: Account) -> None:
    customer, merchant = make_account(10_000), make_account(0)
    hold = transfer_create(spec=manual(customer, merchant, 8_000)).transaction
    assert hold is not None
    transaction_capture(transaction_id=hold.pk, amount=5_000)
    error = refused(lambda: transaction_reverse(transaction_id=hold.pk, amount=5_001))
    assert error.code == ErrorCode.AMOUNT_TOO_LARGE
    original, reversal = transaction_reverse(transaction_id=hold.pk)
    assert (reversal.amount, original.status) == (5_000, "REVERTED")
    assert_ledger_verifies()


def test_the_receiver_paying_back_needs_spendable_for_it(payment: Transaction) -> None:
    merchant = payment.receiver_id
    other = make_account(0)
    transfer_create(spec=TransferSpec(merchant, other.pk, 9_000, "PIX"))  # the merchant keeps 1,000
    error = refused(lambda: transaction_reverse(transaction_id=payment.pk, amount=1_001))
    assert error.code == ErrorCode.INSUFFICIENT_FUNDS
    assert Transaction.objects.get(pk=payment.pk).reversed_amount == 0
    account_set_credit_limit(account_id=merchant, credit_limit=500)  # spendable = 1,000 + 500
    transaction_reverse(transaction_id=payment.pk, amount=1_500)
    assert Account.objects.get(pk=merchant).balance == -500
    assert_ledger_verifies()


def test_a_frozen_receiver_can_still_pay_back(payment: Transaction) -> None:
    account_freeze(account_id=payment.receiver_id, reason="fraud alert")
    original, reversal = transaction_reverse(transaction_id=payment.pk, amount=4_000)
    assert reversal.status == "COMPLETED" and original.reversed_amount == 4_000


def test_a_closed_party_cannot_take_part_in_a_reversal(settlement: Account) -> None:
    customer, merchant = make_account(10_000), make_account(0)
    tx = transfer_create(spec=TransferSpec(customer.pk, merchant.pk, 10_000, "PIX")).transaction
    assert tx is not None
    account_close(account_id=customer.pk, reason="customer left")  # empty now: all was paid away
    error = refused(lambda: transaction_reverse(transaction_id=tx.pk, amount=100))
    assert (error.code, error.field) == (ErrorCode.ACCOUNT_CLOSED, "transactionId")
    assert Account.objects.get(pk=merchant.pk).balance == 10_000


def test_a_reversal_key_replays_a_partial_reversal(payment: Transaction) -> None:
    _, first = transaction_reverse(transaction_id=payment.pk, amount=1_000, idempotency_key="r1")
    _, again = transaction_reverse(transaction_id=payment.pk, amount=1_000, idempotency_key="r1")
    assert first.pk == again.pk
    assert Transaction.objects.get(pk=payment.pk).reversed_amount == 1_000
    error = refused(lambda: transaction_reverse(transaction_id=payment.pk, amount=2_000, idempotency_key="r1"))
    assert error.code == ErrorCode.IDEMPOTENCY_KEY_REUSED


def test_a_closed_receiver_cannot_pay_back(settlement: Account) -> None:
    customer, merchant, supplier = make_account(10_000), make_account(0), make_account(0)
    tx = transfer_create(spec=TransferSpec(customer.pk, merchant.pk, 1_000, "PIX")).transaction
    assert tx is not None
    transfer_create(spec=TransferSpec(merchant.pk, supplier.pk, 1_000, "PIX"))
    account_close(account_id=merchant.pk, reason="merchant closed")
    account_set_credit_limit(account_id=customer.pk, credit_limit=0)
    error = refused(lambda: transaction_reverse(transaction_id=tx.pk, amount=100))
    assert (error.code, error.field) == (ErrorCode.ACCOUNT_CLOSED, "transactionId")
    assert Transaction.objects.get(pk=tx.pk).reversed_amount == 0
