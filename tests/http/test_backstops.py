"""What holds whatever the estimate says: a statement timeout, a wall-clock budget, a response size budget.

Each answers QUERY_TOO_COMPLEX (never INTERNAL), and leaves the connection and
the books as they were. Slowness is real: another connection holds a lock the
request needs, or a resolver of this module's schema sleeps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import graphene
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import path

from accounts.models import Account
from core.graphql import backstops
from core.graphql.node import global_id
from ledger_project.views import LedgerGraphQLView
from tests.factories import make_account
from tests.http.conftest import Api, codes
from tests.ledger_checks import assert_books_balance
from transactions.models import Transaction
from transactions.services import TransferSpec, transfer_create

# --- a schema whose fields take the time they are told to ------------------------------------


NAPPED: list[int] = []  # the naps that ran, in order


def nap(ms: int) -> int:
    NAPPED.append(ms)
    time.sleep(ms / 1000)
    return ms


class Nap(graphene.ObjectType):
    slept = graphene.Int()
    more = graphene.Int(ms=graphene.Int(required=True))

    def resolve_more(self, info: Any, ms: int) -> int:
        return nap(ms)


class TakeNap(graphene.Mutation):
    class Arguments:
        ms = graphene.Int(required=True)

    Output = Nap

    def mutate(self, info: Any, ms: int) -> Nap:
        return Nap(slept=nap(ms))


class Query(graphene.ObjectType):
    nap = graphene.Int(ms=graphene.Int(required=True))

    def resolve_nap(self, info: Any, ms: int) -> int:
        return nap(ms)


class Mutation(graphene.ObjectType):
    nap = TakeNap.Field()


urlpatterns = [path("graphql", LedgerGraphQLView.as_view(schema=graphene.Schema(query=Query, mutation=Mutation)))]
naps = pytest.mark.urls(__name__)


# --- the wall-clock budget ----------------------------------------------------------------------


@naps
@pytest.mark.django_db
def test_fields_that_would_start_past_the_budget_answer_one_error_and_do_not_run(throwaway: Api, settings: Any) -> None:
    settings.LEDGER_REQUEST_BUDGET_MS = 300
    NAPPED.clear()
    # b starts at ~50 ms (well inside the budget even on a loaded machine), c at 450 ms at the earliest.
    response = throwaway.post("{ a: nap(ms: 50) b: nap(ms: 400) c: nap(ms: 200) d: nap(ms: 200) e: nap(ms: 1) }")
    body = response.json()
    assert response.status_code == 200
    assert body["data"] == {"a": 50, "b": 400, "c": None, "d": None, "e": None}
    (error,) = body["errors"]  # one error says it for every field not run
    assert error["path"] == ["c"]
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "budgetMs": 300}
    assert NAPPED == [50, 400]  # c, d and e never ran


@naps
@pytest.mark.django_db
def test_a_mutation_s_payload_is_completed_past_the_budget_but_no_further_mutation_starts(
    throwaway: Api, settings: Any
) -> None:
    settings.LEDGER_REQUEST_BUDGET_MS = 300
    response = throwaway.post("mutation { a: nap(ms: 200) { slept more(ms: 200) } b: nap(ms: 1) { slept } }")
    body = response.json()
    assert body["data"] == {"a": {"slept": 200, "more": 200}, "b": None}  # a's payload ran past the deadline
    assert [error["path"] for error in body["errors"]] == [["b"]] and codes(response) == ["QUERY_TOO_COMPLEX"]


@naps
@pytest.mark.django_db
def test_the_budget_can_be_turned_off(throwaway: Api, settings: Any) -> None:
    settings.LEDGER_REQUEST_BUDGET_MS = 0
    assert throwaway.data("{ a: nap(ms: 20) b: nap(ms: 20) }") == {"a": 20, "b": 20}


# --- the statement timeout (PostgreSQL) ---------------------------------------------------------


@contextmanager
def held(sql: str, params: tuple[Any, ...] = (), seconds: float = 10.0) -> Iterator[None]:
    """Runs ``sql`` in a transaction of another connection and keeps its locks for ``seconds`` or the block."""
    ready, release, failures = threading.Event(), threading.Event(), []

    def hold() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, params)
                ready.set()
                release.wait(seconds)
        except BaseException as error:  # reported by the test
            failures.append(error)
            ready.set()
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert ready.wait(10) and not failures, failures
    try:
        yield
    finally:
        release.set()
        holder.join(10)


@pytest.fixture
def session_timeout() -> Iterator[None]:
    """The view leaves statement_timeout on the (persistent) connection: reset it for the tests after this one."""
    yield
    if connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
        backstops._statement_timeouts.pop(connection.connection, None)


def timed_out(response: Any, path: list[str | int]) -> None:
    assert response.status_code == 200, response.content
    (error,) = response.json()["errors"]
    assert error["path"] == path
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "statementTimeoutMs": 200}
    assert "statement" in error["message"] and "SELECT" not in error["message"]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("session_timeout")
def test_a_read_past_the_statement_timeout_answers_query_too_complex_and_the_connection_serves_on(
    api: Api, settings: Any
) -> None:
    settings.LEDGER_STATEMENT_TIMEOUT_MS = 200
    query = "{ transactions(first: 1) { totalCount edges { node { id } } } }"
    started = time.perf_counter()
    with held(f"LOCK TABLE {Transaction._meta.db_table} IN ACCESS EXCLUSIVE MODE"):
        response = api.post(query)
    assert time.perf_counter() - started < 5  # cancelled at 200 ms, not released after 10 s
    timed_out(response, ["transactions"])
    assert response.json()["data"] is None  # `transactions` is non-null: its null reaches the root
    settings.LEDGER_STATEMENT_TIMEOUT_MS = 5_000
    assert api.data(query)["transactions"]["totalCount"] == Transaction.objects.count()  # the same connection
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == ("5s",)  # the new value replaced the old one on the persistent connection


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("session_timeout")
def test_a_transfer_cancelled_by_the_timeout_rolls_back_whole(api: Api, settings: Any) -> None:
    sender, receiver = make_account(10_000), make_account(0)
    transfers = Transaction.objects.count()
    settings.LEDGER_STATEMENT_TIMEOUT_MS = 200
    mutation = (
        f'mutation {{ createTransaction(input: {{senderAccount: "{global_id("Account", sender.pk)}", '
        f'receiverAccount: "{global_id("Account", receiver.pk)}", amount: "10.00", type: PIX}}) '
        "{ transaction { status } errors { code } } }"
    )
    with held(f"SELECT id FROM {Account._meta.db_table} WHERE id = %s FOR UPDATE", (sender.pk,)):
        response = api.post(mutation)
    timed_out(response, ["createTransaction"])
    assert Transaction.objects.count() == transfers
    sender.refresh_from_db()
    receiver.refresh_from_db()
    assert (sender.balance, receiver.balance) == (10_000, 0)
    settings.LEDGER_STATEMENT_TIMEOUT_MS = 5_000
    assert api.data(mutation)["createTransaction"] == {"transaction": {"status": "COMPLETED"}, "errors": []}
    assert_books_balance()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("session_timeout")
def test_the_wall_clock_budget_holds_on_the_ledger_when_statements_may_wait(api: Api, settings: Any) -> None:
    """No statement timeout: a read waits for a lock; the fields after it are past the budget and do not run."""
    sender, receiver = make_account(10_000), make_account(0)
    moved = transfer_create(spec=TransferSpec(sender.pk, receiver.pk, 100, "PIX")).transaction
    assert moved is not None
    settings.LEDGER_STATEMENT_TIMEOUT_MS = 0
    settings.LEDGER_REQUEST_BUDGET_MS = 600
    account = global_id("Account", sender.pk)
    query = (
        f'{{ a: transaction(id: "{global_id("Transaction", moved.pk)}") {{ status }} '
        f'b: account(id: "{account}") {{ name }} c: account(id: "{account}") {{ balance }} }}'
    )
    lock = f"LOCK TABLE {Transaction._meta.db_table} IN ACCESS EXCLUSIVE MODE"
    with held(lock, seconds=1.5), CaptureQueriesContext(connection) as ran:
        response = api.post(query)
    body = response.json()
    # `a` started well inside the budget and came back after the lock, at ~1.5 s: its own fields, and b
    # and c, would start past the budget.
    assert body["data"] == {"a": None, "b": None, "c": None}
    assert [error["path"] for error in body["errors"]] == [["a", "status"]] and codes(response) == ["QUERY_TOO_COMPLEX"]
    statements = [query["sql"] for query in ran.captured_queries if "statement_timeout" not in query["sql"]]
    assert len(statements) == 2  # the key, and `a`'s transaction: `b` and `c` never ran


# --- the response size budget ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_query_answer_over_the_size_budget_is_withheld_a_mutation_answer_is_not(
    api: Api, settings: Any, settlement: Account
) -> None:
    for _ in range(5):
        make_account(100, name="A name long enough to fill the page " * 3)
    query = "{ accounts(first: 10) { edges { node { name document balance } } } }"
    size = len(api.post(query).content)
    settings.LEDGER_MAX_RESPONSE_BYTES = size - 1
    response = api.post(query)
    body = response.json()
    assert response.status_code == 200 and body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["maxResponseBytes"] == size - 1 < error["extensions"]["responseBytes"]
    assert body["extensions"]["cost"]["nodes"] == 10
    settings.LEDGER_MAX_RESPONSE_BYTES = 10
    created = api.post(
        'mutation { createAccount(input: {name: "Ana", document: "529.982.247-25"}) { account { id } } }'
    )
    assert created.json()["data"]["createAccount"]["account"]["id"]  # committed: the client must learn it
