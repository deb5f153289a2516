"""seed_ledger: realistic, valid, deterministic per seed, idempotent, and the books still balance."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.core.management.base import CommandError

from accounts.models import Account
from core.documents import validate_document
from tests.commands.support import run, verify
from transactions.models import Transaction
from transactions.seeding import ProgressBar, plan_accounts, plan_transfers, seed_ledger

# --- The plan: pure functions, no database -------------------------------------------


def test_the_plan_is_the_same_for_a_seed_and_differs_between_seeds() -> None:
    assert plan_accounts(60, seed=7) == plan_accounts(60, seed=7)
    assert plan_accounts(60, seed=7) != plan_accounts(60, seed=8)
    assert list(plan_transfers(60, 500, seed=7)) == list(plan_transfers(60, 500, seed=7))
    assert list(plan_transfers(60, 500, seed=7)) != list(plan_transfers(60, 500, seed=8))


def test_more_accounts_or_transfers_extend_the_same_plan() -> None:
    assert plan_accounts(100, seed=3)[:40] == plan_accounts(40, seed=3)
    assert list(plan_transfers(50, 900, seed=3))[:300] == list(plan_transfers(50, 300, seed=3))


def test_planned_accounts_have_valid_distinct_documents_and_brazilian_names() -> None:
    plans = plan_accounts(400, seed=1)
    documents = [plan.document for plan in plans]
    assert len(set(documents)) == 400
    kinds = Counter(validate_document(document)[1].value for document in documents)  # raises if one is invalid
    assert kinds["CPF"] > 250 and kinds["CNPJ"] > 20, kinds
    assert any(not document.isdigit() for document in documents), "no alphanumeric CNPJ"
    assert all(1 <= len(plan.name) <= 200 and " " in plan.name for plan in plans)
    assert any(any(ch in plan.name for ch in "ãáâéêíóôúç") for plan in plans)  # accents, as names are written
    assert all(isinstance(plan.initial_balance, int) and plan.initial_balance > 0 for plan in plans)


def test_planned_transfers_are_mostly_pix_and_transfer_in_int_centavos() -> None:
    plans = list(plan_transfers(100, 5_000, seed=1))
    types = Counter(plan.type for plan in plans)
    assert types["PIX"] + types["TRANSFER"] > 0.8 * len(plans)
    assert types["TED"] > 0 and types["DOC"] > 0
    assert set(types) == {"PIX", "TRANSFER", "TED", "DOC"}
    assert all(type(plan.amount) is int and 100 <= plan.amount <= 2_000_000 for plan in plans)
    assert all(plan.sender != plan.receiver and 0 <= plan.sender < 100 and 0 <= plan.receiver < 100 for plan in plans)


def test_progress_bar_prints_a_line_per_tenth_off_a_terminal() -> None:
    lines: list[str] = []
    bar = ProgressBar(lines.append, tty=False)
    for done in range(0, 101):
        bar("transactions", done, 100)
    assert len(lines) == 11 and lines[-1].startswith("transactions       100/100 (100%)"), lines


def test_progress_bar_redraws_one_line_on_a_terminal() -> None:
    chunks: list[str] = []
    bar = ProgressBar(chunks.append, tty=True)
    for done in (0, 50, 100):
        bar("accounts", done, 100)
    assert all(chunk.startswith("\r") for chunk in chunks)
    assert chunks[-1].endswith("\n") and "[" + "#" * 30 + "]" in chunks[-1]


# --- Through the services -------------------------------------------------------------


def _books() -> list[tuple[str, str, int, str, str]]:
    """The transfers by documents, so two databases (or two runs) compare whatever the pks."""
    return list(
        Transaction.objects.exclude(type="DEPOSIT")
        .order_by("pk")
        .values_list("sender__document", "receiver__document", "amount", "type", "status")
    )


@pytest.mark.django_db
def test_seed_ledger_is_idempotent_per_seed(settlement: Account) -> None:
    first = seed_ledger(accounts=6, transactions=1_200, seed=3)
    assert (first.accounts_created, first.transactions_created) == (6, 1_200)
    assert sum(first.outcomes.values()) == 1_200
    books, balances = _books(), list(Account.objects.order_by("pk").values_list("document", "balance", "held"))

    again = seed_ledger(accounts=6, transactions=1_200, seed=3)
    assert (again.accounts_created, again.transactions_created) == (0, 0)
    assert again.outcomes == first.outcomes  # the same outcomes, replayed
    assert _books() == books
    assert list(Account.objects.order_by("pk").values_list("document", "balance", "held")) == balances
    assert verify()[0] == 0

    run("settle_transactions")
    assert verify()[0] == 0


@pytest.mark.django_db
def test_another_seed_adds_another_ledger_and_a_longer_run_extends_it(settlement: Account) -> None:
    seed_ledger(accounts=4, transactions=50, seed=1)
    other = seed_ledger(accounts=4, transactions=50, seed=2)
    assert (other.accounts_created, other.transactions_created) == (4, 50)
    longer = seed_ledger(accounts=4, transactions=80, seed=1)
    assert (longer.accounts_created, longer.transactions_created) == (0, 30)
    assert Transaction.objects.exclude(type="DEPOSIT").count() == 130
    assert verify()[0] == 0


@pytest.mark.django_db
def test_seed_ledger_command_reports_what_it_added(settlement: Account) -> None:
    code, out, err = run("seed_ledger", "--accounts", "5", "--transactions", "30", "--seed", "9")
    assert code == 0, err
    assert out.startswith("seed 9: 5 accounts (5 new), 30 transfers (30 new: "), out
    assert re.search(r"^accounts +5/5 \(100%\)", err, re.M) and re.search(
        r"^transactions +30/30 \(100%\)", err, re.M
    ), err
    code, out, _ = run("seed_ledger", "--accounts", "5", "--transactions", "30", "--seed", "9", verbosity=0)
    assert code == 0 and out.startswith("seed 9: 5 accounts (0 new), 30 transfers (0 new: "), out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--accounts", "1", "--transactions", "5"], "--accounts: must be at least 2"),
        (["--accounts", "5", "--transactions", "-1"], "--transactions: must be at least 0"),
        (["--accounts", "5"], "--transactions"),
    ],
)
def test_seed_ledger_refuses_nonsense_arguments(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run("seed_ledger", *args)
