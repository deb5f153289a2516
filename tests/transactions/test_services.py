"""Every rule of CONTRACT.md's Transactions and Idempotency sections, at the service level."""

import pytest
from django.contrib.auth.models import Permission, User
from django.test import override_settings

from accounts.models import Account
from audit.models import AuditEvent
from core.counters import TRANSACTIONS, counter_total
from core.errors import ErrorCode, LedgerError
from tests.factories import UserFactory, make_account
from tests.ledger_checks import assert_books_balance
from transactions.hashing import GENESIS_HASH, HASHED_COLUMNS, rehash
from transactions.models import Entry, Transaction
from transactions.services import (
    TransferSpec,
    deposit_create,
    transaction_cancel,
    transaction_reverse,
    transactions_settle_due,
    transfer_create,
)

pytestmark = pytest.mark.django_db


def spec(sender: Account, receiver: Account, amount: int = 1_000, kind: str = "PIX", **extra: object) -> TransferSpec:
    return TransferSpec(sender.pk, receiver.pk, amount, kind, **extra)  # type: ignore[arg-type]


def refreshed(*accounts: Account) -> list[Account]:
    for account in accounts:
        account.refresh_from_db()
    return list(accounts)


def rejected(call: object, code: ErrorCode, field: str | None = "unset") -> LedgerError:
    with pytest.raises(LedgerError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.code == code
    if field != "unset":
        assert caught.value.field == field
    return caught.value


@pytest.fixture
def alice(settlement: Account) -> Account:
    return make_account(100_000, "Alice")


@pytest.fixture
def bob(settlement: Account) -> Account:
    return make_account(0, "Bob")


@pytest.mark.parametrize("kind", ["PIX", "TRANSFER"])
def test_pix_and_transfer_complete_at_once_with_two_entries(alice: Account, bob: Account, kind: str) -> None:
    result = transfer_create(spec=spec(alice, bob, 2_500, kind))
    tx = result.transaction
    assert result.error is None and tx is not None
    assert tx.status == "COMPLETED" and tx.completed_at is not None
    alice, bob = refreshed(alice, bob)
    assert (alice.balance, bob.balance) == (97_500, 2_500)
    debit, credit = Entry.objects.filter(transaction=tx).order_by("amount")
    assert (debit.account_id, debit.amount, debit.balance_after, debit.sequence) == (alice.pk, -2_500, 97_500, 2)
    assert (credit.account_id, credit.amount, credit.balance_after, credit.sequence) == (bob.pk, 2_500, 2_500, 1)
    assert_books_balance()


@pytest.mark.parametrize("kind", ["TED", "DOC"])
def test_ted_and_doc_are_held_then_settled(alice: Account, bob: Account, kind: str) -> None:
    tx = transfer_create(spec=spec(alice, bob, 30_000, kind)).transaction
    assert tx is not None and tx.status == "PENDING" and tx.completed_at is None
    assert not tx.entries.exists()
    alice, bob = refreshed(alice, bob)
    assert (alice.balance, alice.available, bob.balance) == (100_000, 70_000, 0)
    assert_books_balance()

    assert transactions_settle_due() == 1
    tx.refresh_from_db()
    alice, bob = refreshed(alice, bob)
    assert tx.status == "COMPLETED" and tx.completed_at is not None
    assert (alice.balance, alice.held, bob.balance) == (70_000, 0, 30_000)
    assert tx.entries.count() == 2
    assert transactions_settle_due() == 0  # settles exactly once
    assert_books_balance()


@override_settings(LEDGER_TED_DELAY=3600)
def test_a_ted_is_not_settled_before_it_is_due(alice: Account, bob: Account) -> None:
    tx = transfer_create(spec=spec(alice, bob, 1_000, "TED")).transaction
    assert transactions_settle_due() == 0
    assert tx is not None
    tx.refresh_from_db()
    assert tx.status == "PENDING"


def test_insufficient_funds_records_a_failed_transaction_and_moves_nothing(alice: Account, bob: Account) -> None:
    result = transfer_create(spec=spec(bob, alice, 1))
    assert result.transaction is not None and result.error is not None
    assert result.error.code == ErrorCode.INSUFFICIENT_FUNDS
    assert result.transaction.status == "FAILED"
    assert result.transaction.failure_reason == "INSUFFICIENT_FUNDS"
    assert not result.transaction.entries.exists()
    alice, bob = refreshed(alice, bob)
    assert (alice.balance, bob.balance) == (100_000, 0)
    assert_books_balance()


def test_held_money_is_not_available_for_another_transfer(alice: Account, bob: Account) -> None:
    transfer_create(spec=spec(alice, bob, 80_000, "TED"))
    result = transfer_create(spec=spec(alice, bob, 30_000, "PIX"))
    assert result.error is not None and result.error.code == ErrorCode.INSUFFICIENT_FUNDS
    assert transfer_create(spec=spec(alice, bob, 20_000, "PIX")).error is None
    assert_books_balance()


@pytest.mark.parametrize("kind", ["DEPOSIT", "REVERSAL", "BOLETO"])
def test_deposit_and_reversal_are_not_transfer_types(alice: Account, bob: Account, kind: str) -> None:
    rejected(lambda: transfer_create(spec=spec(alice, bob, 100, kind)), ErrorCode.INVALID_TRANSACTION_TYPE, "type")
    assert not Transaction.objects.filter(sender=alice).exists()


def test_rejections_record_nothing_but_an_audit_event(alice: Account, bob: Account) -> None:
    before = Transaction.objects.count()
    rejected(lambda: transfer_create(spec=spec(alice, alice)), ErrorCode.SAME_ACCOUNT, "receiverAccount")
    rejected(lambda: transfer_create(spec=spec(alice, bob, 0)), ErrorCode.INVALID_AMOUNT, "amount")
    rejected(
        lambda: transfer_create(spec=TransferSpec(alice.pk, 999_999, 1, "PIX")),
        ErrorCode.ACCOUNT_NOT_FOUND,
        "receiverAccount",
    )
    rejected(
        lambda: transfer_create(spec=TransferSpec(999_999, bob.pk, 1, "PIX")),
        ErrorCode.ACCOUNT_NOT_FOUND,
        "senderAccount",
    )
    rejected(
        lambda: transfer_create(spec=spec(alice, bob, description="x" * 501)), ErrorCode.INVALID_INPUT, "description"
    )
    rejected(
        lambda: transfer_create(spec=spec(alice, bob, idempotency_key="")), ErrorCode.INVALID_INPUT, "idempotencyKey"
    )
    rejected(
        lambda: transfer_create(spec=spec(alice, bob, idempotency_key="k" * 256)),
        ErrorCode.INVALID_INPUT,
        "idempotencyKey",
    )
    assert Transaction.objects.count() == before
    outcomes = set(AuditEvent.objects.filter(action="createTransaction").values_list("outcome", flat=True))
    assert {"SAME_ACCOUNT", "INVALID_AMOUNT", "ACCOUNT_NOT_FOUND", "INVALID_INPUT"} <= outcomes


def test_description_of_500_characters_is_accepted(alice: Account, bob: Account) -> None:
    assert transfer_create(spec=spec(alice, bob, description="x" * 500)).error is None


def test_settlement_account_may_receive_but_never_send(settlement: Account, alice: Account) -> None:
    assert transfer_create(spec=spec(alice, settlement, 1_000)).transaction is not None
    rejected(lambda: transfer_create(spec=spec(settlement, alice, 1)), ErrorCode.INVALID_INPUT, "senderAccount")
    assert_books_balance()


def test_deposit_credits_from_settlement_which_may_go_negative(settlement: Account, bob: Account) -> None:
    tx = deposit_create(account_id=bob.pk, amount=5_000)
    assert (tx.type, tx.status, tx.sender_id) == ("DEPOSIT", "COMPLETED", settlement.pk)
    settlement, bob = refreshed(settlement, bob)
    assert bob.balance == 5_000 and settlement.balance < 0
    rejected(lambda: deposit_create(account_id=settlement.pk, amount=1), ErrorCode.SAME_ACCOUNT, "accountId")
    rejected(lambda: deposit_create(account_id=123_456, amount=1), ErrorCode.ACCOUNT_NOT_FOUND, "accountId")
    assert_books_balance()


def test_cancel_releases_the_hold_of_a_pending_transaction(alice: Account, bob: Account) -> None:
    tx = transfer_create(spec=spec(alice, bob, 10_000, "DOC")).transaction
    assert tx is not None
    cancelled = transaction_cancel(transaction_id=tx.pk)
    assert (cancelled.status, cancelled.failure_reason, cancelled.completed_at) == ("FAILED", "CANCELLED", None)
    (alice,) = refreshed(alice)
    assert (alice.balance, alice.held) == (100_000, 0)
    assert transactions_settle_due() == 0
    rejected(lambda: transaction_cancel(transaction_id=tx.pk), ErrorCode.NOT_CANCELLABLE, "transactionId")
    assert_books_balance()


def test_only_pending_transactions_can_be_cancelled(alice: Account, bob: Account) -> None:
    tx = transfer_create(spec=spec(alice, bob)).transaction
    assert tx is not None
    rejected(lambda: transaction_cancel(transaction_id=tx.pk), ErrorCode.NOT_CANCELLABLE, "transactionId")
    rejected(lambda: transaction_cancel(transaction_id=987_654), ErrorCode.TRANSACTION_NOT_FOUND, "transactionId")


def test_reverse_moves_the_money_back_and_marks_the_original(alice: Account, bob: Account) -> None:
    tx = transfer_create(spec=spec(alice, bob, 4_000)).transaction
    assert tx is not None
    original, reversal = transaction_reverse(transaction_id=tx.pk, description="estorno")
    assert original.pk == tx.pk and original.status == "REVERTED"
    assert (reversal.type, reversal.status, reversal.sender_id, reversal.receiver_id, reversal.amount) == (
        "REVERSAL",
        "COMPLETED",
        bob.pk,
        alice.pk,
        4_000,
    )
    assert reversal.reverses_id == tx.pk and reversal.completed_at is not None
    alice, bob = refreshed(alice, bob)
    assert (alice.balance, bob.balance) == (100_000, 0)
    rejected(lambda: transaction_reverse(transaction_id=tx.pk), ErrorCode.ALREADY_REVERTED, "transactionId")
    rejected(lambda: transaction_reverse(transaction_id=reversal.pk), ErrorCode.NOT_REVERSIBLE, "transactionId")
    assert_books_balance()


def test_pending_and_failed_transactions_are_not_reversible(alice: Account, bob: Account) -> None:
    pending = transfer_create(spec=spec(alice, bob, 1_000, "TED")).transaction
    failed = transfer_create(spec=spec(bob, alice, 1_000)).transaction
    assert pending is not None and failed is not None
    rejected(lambda: transaction_reverse(transaction_id=pending.pk), ErrorCode.NOT_REVERSIBLE, "transactionId")
    rejected(lambda: transaction_reverse(transaction_id=failed.pk), ErrorCode.NOT_REVERSIBLE, "transactionId")
    rejected(lambda: transaction_reverse(transaction_id=555_555), ErrorCode.TRANSACTION_NOT_FOUND, "transactionId")


def test_reversal_needs_the_receiver_to_cover_it_and_changes_nothing_otherwise(alice: Account, bob: Account) -> None:
    carol = make_account(0, "Carol")
    tx = transfer_create(spec=spec(alice, bob, 5_000)).transaction
    transfer_create(spec=spec(bob, carol, 4_000))
    assert tx is not None
    rejected(lambda: transaction_reverse(transaction_id=tx.pk), ErrorCode.INSUFFICIENT_FUNDS)
    tx.refresh_from_db()
    assert tx.status == "COMPLETED"
    assert not Transaction.objects.filter(type="REVERSAL").exists()
    assert_books_balance()


def test_a_deposit_can_be_reversed(alice: Account) -> None:
    deposit = Transaction.objects.get(receiver=alice, type="DEPOSIT")
    transaction_reverse(transaction_id=deposit.pk)
    (alice,) = refreshed(alice)
    assert alice.balance == 0
    assert_books_balance()


# --- Idempotency ----------------------------------------------------------------------


def test_same_key_same_input_returns_the_original_and_moves_no_money(alice: Account, bob: Account) -> None:
    first = transfer_create(spec=spec(alice, bob, 700, idempotency_key="pay-1"))
    again = transfer_create(spec=spec(alice, bob, 700, idempotency_key="pay-1"))
    assert first.transaction is not None and again.transaction is not None
    assert again.transaction.pk == first.transaction.pk
    alice, bob = refreshed(alice, bob)
    assert bob.balance == 700
    assert first.transaction.idempotency_key == "pay-1"


def test_same_key_replays_a_failure_with_its_error(alice: Account, bob: Account) -> None:
    first = transfer_create(spec=spec(bob, alice, 700, idempotency_key="short"))
    transfer_create(spec=spec(alice, bob, 5_000))  # bob could pay now, but the retry is a replay
    again = transfer_create(spec=spec(bob, alice, 700, idempotency_key="short"))
    assert first.transaction is not None and again.transaction is not None
    assert again.transaction.pk == first.transaction.pk
    assert again.transaction.status == "FAILED"
    assert again.error is not None and again.error.code == ErrorCode.INSUFFICIENT_FUNDS


def test_same_key_different_input_is_refused_and_changes_nothing(alice: Account, bob: Account) -> None:
    transfer_create(spec=spec(alice, bob, 700, idempotency_key="pay-2"))
    before = Transaction.objects.count()
    rejected(
        lambda: transfer_create(spec=spec(alice, bob, 701, idempotency_key="pay-2")),
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        "idempotencyKey",
    )
    assert Transaction.objects.count() == before
    (bob,) = refreshed(bob)
    assert bob.balance == 700


def depositor() -> User:
    """A user who may credit accounts: deposit_create asks for transactions.add_deposit."""
    user = UserFactory.create()
    user.user_permissions.add(Permission.objects.get(content_type__app_label="transactions", codename="add_deposit"))
    return User.objects.get(pk=user.pk)  # a fresh instance: no stale permission cache


def test_keys_are_scoped_per_user_and_per_mutation(alice: Account, bob: Account) -> None:
    ana, beto = depositor(), UserFactory.create()
    one = transfer_create(spec=spec(alice, bob, 100, idempotency_key="k"), actor=ana).transaction
    two = transfer_create(spec=spec(alice, bob, 100, idempotency_key="k"), actor=beto).transaction
    deposit = deposit_create(account_id=bob.pk, amount=100, idempotency_key="k", actor=ana)
    assert one is not None and two is not None
    assert len({one.pk, two.pk, deposit.pk}) == 3


def test_deposit_and_reversal_keys_replay(alice: Account, bob: Account) -> None:
    user = depositor()
    d1 = deposit_create(account_id=bob.pk, amount=100, idempotency_key="d", actor=user)
    d2 = deposit_create(account_id=bob.pk, amount=100, idempotency_key="d", actor=user)
    assert d1.pk == d2.pk
    rejected(
        lambda: deposit_create(account_id=bob.pk, amount=200, idempotency_key="d", actor=user),
        ErrorCode.IDEMPOTENCY_KEY_REUSED,
        "idempotencyKey",
    )
    tx = transfer_create(spec=spec(alice, bob, 100)).transaction
    assert tx is not None
    r1 = transaction_reverse(transaction_id=tx.pk, idempotency_key="r", actor=user)
    r2 = transaction_reverse(transaction_id=tx.pk, idempotency_key="r", actor=user)
    assert r1[1].pk == r2[1].pk and r2[0].pk == tx.pk
    (bob,) = refreshed(bob)
    assert bob.balance == 100  # the deposit once; the transfer in, then reversed once
    assert_books_balance()


# --- Trace --------------------------------------------------------------------------


def test_every_operation_leaves_an_audit_event(alice: Account, bob: Account) -> None:
    user = UserFactory.create()
    tx = transfer_create(spec=spec(alice, bob), actor=user).transaction
    assert tx is not None
    event = AuditEvent.objects.get(action="createTransaction", object_id=str(tx.pk))
    assert (event.actor_id, event.outcome, event.object_type) == (user.pk, "COMPLETED", "Transaction")
    transaction_reverse(transaction_id=tx.pk, actor=user)
    assert AuditEvent.objects.filter(action="reverseTransaction", object_id=str(tx.pk)).exists()


def test_entries_form_a_hash_chain_per_account(alice: Account, bob: Account) -> None:
    for amount in (100, 200, 300):
        transfer_create(spec=spec(alice, bob, amount))
    previous = GENESIS_HASH
    for entry in Entry.objects.filter(account=alice).order_by("sequence"):
        assert entry.prev_hash == previous
        # Recomputed as verify_ledger does: from the hashed columns, chained from the previous hash.
        assert entry.hash == rehash(previous, [getattr(entry, column) for column in HASHED_COLUMNS])
        previous = entry.hash
    (alice,) = refreshed(alice)
    assert alice.last_hash == previous


def test_counters_match_the_rows(alice: Account, bob: Account) -> None:
    transfer_create(spec=spec(alice, bob))
    transfer_create(spec=spec(bob, alice, 10**9))  # FAILED still counts
    transfer_create(spec=spec(alice, bob, 10, "TED"))
    alice, bob = refreshed(alice, bob)
    assert counter_total(TRANSACTIONS) == Transaction.objects.count()
    assert alice.sent_count == Transaction.objects.filter(sender=alice).count()
    assert alice.received_count == Transaction.objects.filter(receiver=alice).count()
    assert alice.entry_count == Entry.objects.filter(account=alice).count()
