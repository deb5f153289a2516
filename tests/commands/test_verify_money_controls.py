"""verify_ledger exits 1 when a row is tampered to break each invariant of money-controls.md.

Each tamper lifts the database's own guard first where there is one (a CHECK
dropped inside the test's transaction, rolled back after), as a table owner could.
"""

from __future__ import annotations

import pytest

from accounts.models import Account
from tests.commands.support import raw, verify
from tests.factories import make_account
from tests.support_money import manual
from transactions.services import (
    TransferSpec,
    account_close,
    account_set_credit_limit,
    transaction_capture,
    transaction_reverse,
    transfer_create,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def controlled(settlement: Account) -> dict[str, int]:
    """A ledger using every control: an overdraft, a partial capture, a partial refund, a hold, a closed account."""
    a, b, gone = make_account(10_000), make_account(0), make_account(500)
    account_set_credit_limit(account_id=a.pk, credit_limit=2_000)
    pix = transfer_create(spec=TransferSpec(a.pk, b.pk, 11_000, "PIX")).transaction
    captured = transfer_create(spec=manual(a, b, 600)).transaction
    hold = transfer_create(spec=manual(a, b, 300)).transaction
    assert pix is not None and captured is not None and hold is not None
    transaction_capture(transaction_id=captured.pk, amount=400)
    transaction_reverse(transaction_id=pix.pk, amount=1_000)
    transfer_create(spec=TransferSpec(gone.pk, b.pk, 500, "PIX"))
    account_close(account_id=gone.pk, reason="customer left")
    return {"a": a.pk, "b": b.pk, "gone": gone.pk, "pix": pix.pk, "captured": captured.pk, "hold": hold.pk}


def breached(fragment: str) -> str:
    code, output = verify()
    assert code == 1, output
    line = next((line for line in output.splitlines() if fragment in line), "")
    assert line.startswith("BREACH"), output
    return line


def test_a_ledger_using_every_control_verifies(controlled: dict[str, int]) -> None:
    code, output = verify()
    assert code == 0, output


def drop(table: str, constraint: str) -> None:
    raw("SET CONSTRAINTS ALL IMMEDIATE")
    raw(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")


@pytest.mark.postgres_only
def test_a_balance_below_minus_the_credit_limit_is_a_breach(controlled: dict[str, int]) -> None:
    drop("accounts_account", "account_customer_within_credit_limit")
    raw("UPDATE accounts_account SET credit_limit = 500 WHERE id = %s", [controlled["a"]])  # uses 1,300
    assert f"account {controlled['a']}" in breached("below -creditLimit")


def test_entries_that_do_not_match_the_captured_amount_are_a_breach(controlled: dict[str, int]) -> None:
    raw("UPDATE transactions_transaction SET captured_amount = 450 WHERE id = %s", [controlled["captured"]])
    assert f"transaction {controlled['captured']}" in breached("two entries of capturedAmount")


def test_a_reversed_amount_that_is_not_the_sum_of_the_reversals_is_a_breach(controlled: dict[str, int]) -> None:
    raw("UPDATE transactions_transaction SET reversed_amount = 1500 WHERE id = %s", [controlled["pix"]])
    assert f"transaction {controlled['pix']}" in breached("reversedAmount = sum of its REVERSALs")


@pytest.mark.postgres_only
def test_a_fully_reversed_transaction_still_completed_is_a_breach(controlled: dict[str, int]) -> None:
    drop("transactions_transaction", "transaction_reverted_iff_fully_reversed")
    raw("UPDATE transactions_transaction SET reversed_amount = 11000 WHERE id = %s", [controlled["pix"]])
    assert f"transaction {controlled['pix']}" in breached("REVERTED when equal")


def test_a_hold_dropped_without_its_release_is_a_breach(controlled: dict[str, int]) -> None:
    raw(
        "UPDATE transactions_transaction SET status = 'FAILED', failure_reason = 'EXPIRED' WHERE id = %s",
        [controlled["hold"]],
    )
    assert f"account {controlled['a']}" in breached("availableBalance = balance - PENDING")


def test_an_entry_after_an_account_closed_is_a_breach(controlled: dict[str, int]) -> None:
    raw("UPDATE accounts_account SET closed_at = '2000-01-01 00:00:00+00:00' WHERE id = %s", [controlled["gone"]])
    assert f"account {controlled['gone']}" in breached("a CLOSED account is empty")


@pytest.mark.postgres_only
def test_a_closed_account_with_money_is_a_breach(controlled: dict[str, int]) -> None:
    drop("accounts_account", "account_closed_is_empty")
    raw("UPDATE accounts_account SET balance = balance + 1 WHERE id = %s", [controlled["gone"]])
    assert f"account {controlled['gone']}: balance 1" in breached("a CLOSED account is empty")
