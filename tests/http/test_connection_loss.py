"""A lost database connection: retried when nothing can have committed, else UNAVAILABLE (503), never INTERNAL.

The connection is really lost: another session runs ``pg_terminate_backend`` on
the one the ledger uses, as a failover or a server restart would.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg
import pytest
from django.db import OperationalError, connection

from accounts.models import Account
from core.db import connection_lost
from core.graphql.node import global_id
from tests.factories import make_account
from tests.http.conftest import Api
from tests.http.test_backstops import held
from tests.ledger_checks import assert_books_balance
from transactions.models import Transaction
from transactions.services import TransferSpec, transfer_create

pytestmark = [pytest.mark.postgres_only, pytest.mark.usefixtures("live_db")]


def admin_session() -> psycopg.Connection[Any]:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"], dbname=settings["NAME"], autocommit=True
    )


def terminate(pid: int) -> None:
    with admin_session() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(200):
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} outlived pg_terminate_backend")


def own_backend() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return int(pid)


def test_a_connection_lost_before_commit_is_retried_on_a_new_one() -> None:
    sender, receiver = make_account(10_000), make_account(0)
    terminate(own_backend())

    tx = transfer_create(spec=TransferSpec(sender.pk, receiver.pk, 100, "PIX")).transaction

    assert tx is not None and tx.status == "COMPLETED"
    assert Transaction.objects.filter(sender=sender).count() == 1
    assert Account.objects.get(pk=receiver.pk).balance == 100
    assert_books_balance()


def test_without_a_retry_budget_the_lost_connection_reaches_the_caller(settings: Any) -> None:
    """The test above does lose its connection: with no time to retry, the error comes through."""
    settings.LEDGER_RETRY_BUDGET_MS = 0
    sender, receiver = make_account(10_000), make_account(0)
    terminate(own_backend())

    with pytest.raises(OperationalError) as failure:
        transfer_create(spec=TransferSpec(sender.pk, receiver.pk, 100, "PIX"))

    assert connection_lost(failure.value)
    connection.close()
    assert Transaction.objects.filter(sender=sender).count() == 0


def transfer_while_killed(api: Api, sender: Account, receiver: Account) -> Any:
    """Posts a transfer that waits on the sender's row lock, kills its backend meanwhile, then releases the lock."""
    mutation = (
        f'mutation {{ createTransaction(input: {{senderAccount: "{global_id("Account", sender.pk)}", '
        f'receiverAccount: "{global_id("Account", receiver.pk)}", amount: "1.00", type: PIX, '
        'idempotencyKey: "lost-1"}) { transaction { status } errors { code } } }'
    )
    answers: list[Any] = []
    with held(f"SELECT id FROM {Account._meta.db_table} WHERE id = %s FOR UPDATE", (sender.pk,), seconds=20):
        poster = threading.Thread(target=lambda: answers.append(api.post(mutation)))
        poster.start()
        with admin_session() as admin:
            waiting = None
            for _ in range(500):
                row = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
                ).fetchone()
                if row:
                    waiting = row[0]
                    break
                time.sleep(0.01)
        assert waiting is not None, "the transfer never waited for the lock"
        terminate(waiting)
        time.sleep(0.2)  # the retry, if any, is now waiting for the lock again
    poster.join(20)
    (response,) = answers
    return response


def test_a_transfer_whose_connection_dies_before_commit_is_retried_and_applied_once(api: Api) -> None:
    sender, receiver = make_account(10_000), make_account(0)

    response = transfer_while_killed(api, sender, receiver)

    assert response.status_code == 200, response.content
    assert response.json()["data"]["createTransaction"] == {"transaction": {"status": "COMPLETED"}, "errors": []}
    assert Transaction.objects.filter(sender=sender).count() == 1
    assert_books_balance()


def test_a_lost_connection_the_service_cannot_retry_answers_unavailable_503(
    api: Api, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.LEDGER_RETRY_BUDGET_MS = 0
    sender, receiver = make_account(10_000), make_account(0)

    with caplog.at_level(logging.WARNING):
        response = transfer_while_killed(api, sender, receiver)
    # One warning of ours; no ERROR per request from django.request during a failover.
    assert [r.levelname for r in caplog.records if r.name == "django.request"] == []
    assert any("connection was lost" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")

    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "1"
    body = response.json()
    assert "data" not in body
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "UNAVAILABLE"}
    assert "idempotency key" in error["message"] and "psycopg" not in error["message"]
    assert Transaction.objects.filter(sender=sender).count() == 0
    # The client's retry with the same key is applied, once.
    settings.LEDGER_RETRY_BUDGET_MS = 2000
    retried = transfer_while_killed(api, sender, receiver)
    assert retried.json()["data"]["createTransaction"]["transaction"] == {"status": "COMPLETED"}
    assert Transaction.objects.filter(sender=sender).count() == 1
    assert_books_balance()
