"""One door: every money operation ends in ``AccountBook.save``, one write statement on PostgreSQL.

Proved from the outside, with no patching: the statements each operation sends
(a reversal costs no more than a transfer), the one ``WITH`` statement that
carries its transactions, status changes, entries, accounts, counter and audit
events, the locks it takes and in which order, and how a refusal leaves only
its audit event behind.
"""

from __future__ import annotations

import ast
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account, AccountKind
from accounts.schema.types import AccountKind as AccountKindEnum
from accounts.schema.types import DocumentType as DocumentTypeEnum
from accounts.services import account_create
from audit.models import AuditEvent
from core.counters import TRANSACTIONS, counter_total
from core.documents import DocumentType
from core.errors import ErrorCode, LedgerError
from tests.factories import make_account, valid_cpf
from tests.ledger_checks import assert_books_balance
from transactions import models
from transactions.models import Transaction
from transactions.posting import AccountBook
from transactions.schema.enums import FailureReason, TransactionStatus, TransactionTypeEnum
from transactions.services import (
    CREATE_DEPOSIT,
    TransferSpec,
    deposit_create,
    transaction_cancel,
    transaction_capture,
    transaction_reverse,
    transactions_settle_due,
    transfer_batch_create,
    transfer_create,
)

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.I)
WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|WITH)\b", re.I)

# Statements per operation on PostgreSQL, transaction control aside (see the closing note of issue 13).
# Before the one door: transfer 3, deposit 3, reversal 8, cancel 5, settlement step 5. Issue 16 drew the
# new transactions' pks in the lock's statement: transfer, deposit, reversal and batch 3 -> 2.
BUDGET = {"transfer": 2, "deposit": 2, "reversal": 2, "cancel": 2, "settle": 3, "batch of 100": 2}


def statements(run: Callable[[], T]) -> tuple[list[str], T]:
    """The SQL ``run`` sends, less BEGIN/COMMIT and savepoints (a test's own transaction turns one into the other)."""
    with CaptureQueriesContext(connection) as ran:
        result = run()
    return [query["sql"] for query in ran.captured_queries if not CONTROL.match(query["sql"])], result


@pytest.fixture
def pair(settlement: Account) -> tuple[Account, Account]:
    return make_account(1_000_000), make_account(1_000_000)


def one_of_each(pair: tuple[Account, Account], settings: Any) -> dict[str, list[str]]:
    """Every money operation once, with the statements each sent."""
    settings.LEDGER_TED_DELAY = 0
    a, b = pair
    ran: dict[str, list[str]] = {}
    ran["transfer"], result = statements(lambda: transfer_create(spec=TransferSpec(a.pk, b.pk, 500, "PIX")))
    pix = result.transaction
    assert pix is not None
    ran["deposit"], _ = statements(lambda: deposit_create(account_id=a.pk, amount=700))
    ran["reversal"], _ = statements(lambda: transaction_reverse(transaction_id=pix.pk))
    ted = transfer_create(spec=TransferSpec(a.pk, b.pk, 300, "TED")).transaction
    assert ted is not None
    ran["cancel"], _ = statements(lambda: transaction_cancel(transaction_id=ted.pk))
    for _ in range(3):
        transfer_create(spec=TransferSpec(a.pk, b.pk, 100, "DOC"))
    Transaction.objects.filter(status="PENDING").update(due_at=timezone.now() - timedelta(seconds=1))
    ran["settle"], settled = statements(lambda: transactions_settle_due())
    assert settled == 3
    specs = [TransferSpec(a.pk, b.pk, 1, "PIX")] * 100
    ran["batch of 100"], _ = statements(lambda: transfer_batch_create(specs=specs))
    return ran


@pytest.mark.postgres_only
def test_a_reversal_costs_no_more_statements_than_a_transfer(pair: tuple[Account, Account], settings: Any) -> None:
    ran = one_of_each(pair, settings)
    assert len(ran["reversal"]) <= len(ran["transfer"]), ran["reversal"]
    # The guard: each operation's count, so a new statement on any path is a decision, not an accident.
    # (A batch streams its transactions and entries by COPY too, which Django does not capture.)
    assert {name: len(sent) for name, sent in ran.items()} == BUDGET, ran
    assert_books_balance()


@pytest.mark.postgres_only
def test_every_operation_writes_everything_in_one_statement(pair: tuple[Account, Account], settings: Any) -> None:
    events_before = AuditEvent.objects.count()
    ran = one_of_each(pair, settings)
    new, entries, status = (
        "INSERT INTO transactions_transaction",
        "INSERT INTO transactions_entry",
        "UPDATE transactions_transaction",
    )
    accounts, counter, audit = "UPDATE accounts_account", "INSERT INTO core_counter", "INSERT INTO audit_auditevent"
    # What each operation's one write carries: new transactions, status changes, entries, accounts,
    # the transactions counter and its audit events (a batch of 100 COPYs its transactions and entries).
    expected = {
        "transfer": [new, entries, accounts, counter, audit],
        "deposit": [new, entries, accounts, counter, audit],
        "reversal": [new, entries, status, accounts, counter, audit],
        "cancel": [status, accounts, audit],
        "settle": [entries, status, accounts, audit],
        "batch of 100": [accounts, counter, audit],
    }
    for name, sent in ran.items():
        writes = [sql for sql in sent if WRITE.match(sql)]
        assert len(writes) == 1 and writes[0].startswith("WITH "), (name, writes)
        for part in expected[name]:
            assert part in writes[0], (name, part)
    # transfer, deposit, reversal, cancel, settlement (3), batch: the audit events of the book's writes.
    assert AuditEvent.objects.count() - events_before >= 1 + 1 + 1 + 1 + 3 + 1
    assert AuditEvent.objects.filter(action="reverseTransaction", outcome="COMPLETED").count() == 1
    assert AuditEvent.objects.filter(action="cancelTransaction", outcome="CANCELLED").count() == 1
    assert AuditEvent.objects.filter(action="settleTransaction", outcome="COMPLETED").count() == 3
    assert counter_total(TRANSACTIONS) == Transaction.objects.count()
    assert_books_balance()


def test_a_reversal_writes_its_transaction_status_change_counter_and_one_event_naming_both(
    pair: tuple[Account, Account],
) -> None:
    """The same rows on every database (the SQLite pass writes them one table at a time)."""
    a, b = pair
    original = transfer_create(spec=TransferSpec(a.pk, b.pk, 2_500, "PIX")).transaction
    assert original is not None
    counted = counter_total(TRANSACTIONS)
    reverted, reversal = transaction_reverse(transaction_id=original.pk)
    assert counter_total(TRANSACTIONS) == counted + 1
    stored = Transaction.objects.get(pk=original.pk)
    assert (stored.status, reverted.status, stored.completed_at) == ("REVERTED", "REVERTED", original.completed_at)
    assert Transaction.objects.get(pk=reversal.pk).reverses_id == original.pk
    (event,) = AuditEvent.objects.filter(action="reverseTransaction")  # records.md: one event per operation
    assert (event.object_id, event.payload) == (
        str(original.pk),
        {"reversal": reversal.pk, "amount": 2_500, "reversed_amount": 2_500},
    )
    assert event.subjects is not None
    assert {f"Transaction:{original.pk}", f"Transaction:{reversal.pk}", f"Account:{a.pk}", f"Account:{b.pk}"} <= set(
        event.subjects
    )
    assert_books_balance()


def test_a_refusal_inside_the_transaction_leaves_only_its_audit_event(pair: tuple[Account, Account]) -> None:
    """Refused after the accounts were locked: nothing of the operation is written, its audit event is."""
    a, b = pair
    original = transfer_create(spec=TransferSpec(a.pk, b.pk, 900_000, "PIX")).transaction
    assert original is not None
    transfer_create(spec=TransferSpec(b.pk, a.pk, 1_500_000, "PIX"))  # b cannot give the 900,000 back
    before = (
        Transaction.objects.count(),
        AuditEvent.objects.count(),
        list(Account.objects.order_by("pk").values_list("balance")),
    )
    with pytest.raises(LedgerError) as caught:
        transaction_reverse(transaction_id=original.pk)
    assert caught.value.code == ErrorCode.INSUFFICIENT_FUNDS
    assert Transaction.objects.count() == before[0]
    assert Transaction.objects.get(pk=original.pk).status == "COMPLETED"
    assert list(Account.objects.order_by("pk").values_list("balance")) == before[2]
    assert AuditEvent.objects.count() == before[1] + 1
    event = AuditEvent.objects.order_by("-pk").first()
    assert event is not None
    assert (event.action, event.outcome, event.payload["error"]["code"]) == (
        "reverseTransaction",
        "INSUFFICIENT_FUNDS",
        "INSUFFICIENT_FUNDS",
    )


def test_a_duplicate_document_is_audited_once_and_opens_nothing(settlement: Account) -> None:
    document = valid_cpf()
    account_create(name="Ana", document=document)
    accounts, events = Account.objects.count(), AuditEvent.objects.count()
    with pytest.raises(LedgerError) as caught:
        account_create(name="Ana again", document=document, initial_balance=100)
    assert caught.value.code == ErrorCode.DUPLICATE_DOCUMENT
    assert Account.objects.count() == accounts
    assert AuditEvent.objects.count() == events + 1
    assert AuditEvent.objects.filter(action="createAccount", outcome="DUPLICATE_DOCUMENT").count() == 1


@pytest.mark.postgres_only
@pytest.mark.usefixtures("live_db")
def test_a_refused_operation_s_audit_event_is_committed_though_the_operation_is_not() -> None:
    a, b = make_account(10_000), make_account()
    completed = transfer_create(spec=TransferSpec(a.pk, b.pk, 1_000, "PIX")).transaction
    assert completed is not None
    with pytest.raises(LedgerError):
        transaction_cancel(transaction_id=completed.pk)  # COMPLETED: NOT_CANCELLABLE
    assert not connection.in_atomic_block
    with seen_from_another_connection() as other:
        other.execute(
            "SELECT outcome FROM audit_auditevent WHERE action = 'cancelTransaction' ORDER BY id DESC LIMIT 1"
        )
        assert other.fetchone() == ("NOT_CANCELLABLE",)
        other.execute("SELECT status FROM transactions_transaction WHERE id = %s", [completed.pk])
        assert other.fetchone() == ("COMPLETED",)


@contextmanager
def seen_from_another_connection() -> Iterator[Any]:
    """A cursor of a connection of its own: what it reads was committed."""
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            yield cursor
    finally:
        other.close()


@contextmanager
def account_locked(pk: int) -> Iterator[None]:
    """Holds the row lock of an account in another connection for the block."""
    ready, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Account.objects.select_for_update().get(pk=pk)
                ready.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert ready.wait(10)
    try:
        yield
    finally:
        release.set()
        holder.join(10)


def locked(sql: str, pk: int) -> bool:
    """Whether another transaction holds the row lock (FOR UPDATE NOWAIT fails at once when it does)."""
    with seen_from_another_connection() as other:
        try:
            other.execute(f"{sql} FOR UPDATE NOWAIT", [pk])
        except OperationalError:
            return True
        return False


def wait_until_blocked(timeout: float = 10) -> None:
    """Until a session of the test database waits for a row lock."""
    deadline = time.monotonic() + timeout
    with seen_from_another_connection() as other:
        while True:
            other.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if other.fetchone()[0]:
                return
            assert time.monotonic() < deadline, "nobody waited for a lock"
            time.sleep(0.01)


@pytest.mark.postgres_only
@pytest.mark.usefixtures("live_db")
@pytest.mark.parametrize("held", ["lower", "higher"])
def test_a_reversal_locks_the_transaction_then_its_accounts_in_pk_order(held: str) -> None:
    """The order every operation on an existing transaction takes: a cancel or a settlement cannot deadlock it."""
    a, b = make_account(10_000), make_account(10_000)
    original = transfer_create(spec=TransferSpec(b.pk, a.pk, 1_000, "PIX")).transaction  # sender has the higher pk
    assert original is not None
    low, high = sorted((a.pk, b.pk))
    outcome: list[object] = []

    def reverse() -> None:
        try:
            outcome.append(transaction_reverse(transaction_id=original.pk))
        except BaseException as error:  # asserted below
            outcome.append(error)
        finally:
            connection.close()

    with account_locked(low if held == "lower" else high):
        worker = threading.Thread(target=reverse)
        worker.start()
        wait_until_blocked()
        tx_sql = "SELECT id FROM transactions_transaction WHERE id = %s"
        account_sql = "SELECT id FROM accounts_account WHERE id = %s"
        assert locked(tx_sql, original.pk), "the transaction is locked before any account"
        if held == "higher":
            assert locked(account_sql, low), "the lower pk is locked before the higher"
        else:
            assert not locked(account_sql, high), "the higher pk waits for the lower"
    worker.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], tuple), outcome
    assert Transaction.objects.get(pk=original.pk).status == "REVERTED"


# --- one declaration of the vocabulary ---------------------------------------------------


@pytest.mark.parametrize(
    ("graphql", "domain"),
    [
        (TransactionTypeEnum, models.TransactionType),
        (TransactionStatus, models.TransactionStatus),
        (FailureReason, models.FailureReason),
    ],
)
def test_the_graphql_enums_are_the_model_choices(graphql: Any, domain: Any) -> None:
    assert [(m.name, m.value) for m in graphql._meta.enum] == [(m.name, m.value) for m in domain]


def test_the_account_enums_are_the_domain_choices() -> None:
    assert [m.value for m in AccountKindEnum._meta.enum] == [m.value for m in AccountKind]
    assert [m.value for m in DocumentTypeEnum._meta.enum] == [m.value for m in DocumentType]


def test_every_transaction_type_is_made_by_exactly_one_operation() -> None:
    """A new type must be placed: sent by createTransaction(s), credited by createDeposit, or a reversal."""
    made_by = [models.TRANSFER_TYPES, CREATE_DEPOSIT.types, frozenset({models.TransactionType.REVERSAL})]
    for kind in models.TransactionType:
        assert sum(kind in types for types in made_by) == 1, kind
    assert models.PENDING_TYPES <= models.TRANSFER_TYPES
    assert set(models.POSTED_STATUSES) <= set(models.TransactionStatus)


# --- no import circle ----------------------------------------------------------------------

APPS = ("access", "accounts", "audit", "core", "transactions", "ledger_project")


def module_imports(path: Path) -> set[str]:
    """The app modules a file imports when it is loaded: its top-level imports, not TYPE_CHECKING's."""
    found: set[str] = set()
    package = list(path.relative_to(ROOT).parts[:-1])
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parent = package[: len(package) - node.level + 1] if node.level else []
            base = ".".join([*parent, *([node.module] if node.module else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in APPS}


def import_graph() -> dict[str, set[str]]:
    """Each app module and the app modules it imports when loaded (migrations aside)."""
    modules: dict[str, Path] = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")] = path

    def circle_free(name: str, target: str) -> bool:
        # A module importing its own package (whose __init__ re-exports the module) is not a circle.
        return target in modules and target != name and not name.startswith(target + ".")

    return {name: {t for t in module_imports(path) if circle_free(name, t)} for name, path in modules.items()}


def test_no_import_circle_in_app_code() -> None:
    graph = import_graph()
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        for target in sorted(graph[node]):
            assert target not in path, " -> ".join([*path[path.index(target) :], target])
            if target not in done:
                visit(target, [*path, target])
        done.add(node)

    for node in sorted(graph):
        if node not in done:
            visit(node, [node])
    assert "transactions.posting" not in graph["transactions.writer"]


@pytest.mark.postgres_only
def test_a_capture_costs_no_more_statements_than_a_transfer(pair: tuple[Account, Account]) -> None:
    """Issue 11: a capture is the lock (with the database's clock) and the one write."""
    a, b = pair
    transfer, _ = statements(lambda: transfer_create(spec=TransferSpec(a.pk, b.pk, 500, "PIX")))
    hold = transfer_create(
        spec=TransferSpec(a.pk, b.pk, 500, "PIX", capture_mode=models.CaptureMode.MANUAL)
    ).transaction
    assert hold is not None
    capture, captured = statements(lambda: transaction_capture(transaction_id=hold.pk, amount=300))
    assert captured.captured_amount == 300
    assert len(capture) <= len(transfer) == BUDGET["transfer"], capture
    writes = [sql for sql in capture if WRITE.match(sql)]
    assert len(writes) == 1 and "INSERT INTO transactions_entry" in writes[0], writes


@pytest.mark.postgres_only
def test_the_lock_draws_the_batch_s_pks_once_not_once_per_locked_account(settlement: Account) -> None:
    """Issue 16: the pks rode on every locked row: 1,000 pks x ~900 accounts made a batch's lock its slowest part."""
    accounts = [make_account(1_000) for _ in range(4)]
    with transaction.atomic():
        book = AccountBook.lock([a.pk for a in accounts], reserve=7)
        carried = [vars(book[a.pk]).get("ledger_drawn") for a in sorted(accounts, key=lambda a: a.pk)]
    assert len(set(book.drawn)) == 7 and all(isinstance(pk, int) for pk in book.drawn)
    assert carried[0] == book.drawn and carried[1:] == [None, None, None], carried


@pytest.mark.postgres_only
def test_a_batch_whose_lowest_account_is_unknown_still_gets_its_pks(settlement: Account) -> None:
    """The pks ride on the lowest wanted account's row; when it does not exist, ``reserve_ids`` draws them."""
    a, b = make_account(1_000), make_account(1_000)
    unknown = min(a.pk, b.pk) - 1
    assert not Account.objects.filter(pk=unknown).exists()
    specs = [
        TransferSpec(unknown, a.pk, 1, "PIX"),
        TransferSpec(a.pk, b.pk, 1, "PIX"),
        TransferSpec(b.pk, a.pk, 2, "PIX"),
    ]
    results = transfer_batch_create(specs=specs)
    assert results[0].error is not None and results[0].error.code == ErrorCode.ACCOUNT_NOT_FOUND
    done = [r.transaction for r in results[1:]]
    assert all(t is not None and t.status == "COMPLETED" for t in done)
    assert len({t.pk for t in done if t is not None}) == 2
    assert_books_balance()
