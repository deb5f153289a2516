"""The app's database role owns nothing: it cannot disable triggers, TRUNCATE or rewrite history, yet runs the bank.

Security issue, class 5 (a) and (b). The app used to connect as the tables'
owner (the image's superuser in the compose stack), which can disable the
append-only triggers. These tests make the role the way ``migrate`` does
(``core/dbroles.py``), connect as it, and try.
"""

from __future__ import annotations

import base64
import json
import secrets
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, connections
from django.test import Client

from access.services import api_key_create, api_key_revoke
from core.checks import DATABASE_ROLE_MAY_REWRITE, DATABASE_ROLE_OWNS_HISTORY, database_role_owns_nothing
from core.dbroles import POLICY, RoleError, grant_app_role
from core.management.commands.flush import may_lift_truncate_guard
from tests.commands.support import manage, raw, run, verify
from tests.factories import make_account
from tests.ops.live import gunicorn_server
from transactions.models import Transaction, TransactionStatus
from transactions.services import (
    TransferSpec,
    transaction_cancel,
    transaction_reverse,
    transactions_settle_due,
    transfer_batch_create,
    transfer_create,
)

LONG_SECRET_KEY = "db-roles-test-key-" + "x" * 50


@dataclass(frozen=True)
class AppRole:
    name: str
    password: str

    def url(self) -> str:
        s = connection.settings_dict
        return (
            f"postgres://{self.name}:{quote(self.password, safe='')}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}"
            f"/{s['NAME']}"
        )

    def connect(self) -> psycopg.Connection[Any]:
        s = connection.settings_dict
        return psycopg.connect(
            host=s["HOST"] or "127.0.0.1",
            port=s["PORT"] or 5432,
            dbname=s["NAME"],
            user=self.name,
            password=self.password,
            autocommit=True,
        )


def _drop_role(name: str) -> None:
    q = connection.ops.quote_name(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
        if cursor.fetchone():
            cursor.execute(f"DROP OWNED BY {q}")  # its grants and default privileges in this database
            cursor.execute(f"DROP ROLE {q}")


@pytest.fixture
def app_role(live_db: None) -> Iterator[AppRole]:
    """The app's role for this test database (roles are cluster-wide: the name carries the database's)."""
    role = AppRole(f"{connection.settings_dict['NAME']}_app", secrets.token_urlsafe(16))
    _drop_role(role.name)  # a crashed run's
    report = grant_app_role(connection, role.name, role.password)
    assert report.created and not report.unlisted
    yield role
    _drop_role(role.name)


@contextmanager
def connected_as(role: AppRole) -> Iterator[None]:
    """Django's own connection, logged in as ``role`` (tests that commit: ``live_db``)."""
    settings_dict = connection.settings_dict
    saved = settings_dict["USER"], settings_dict["PASSWORD"]
    connection.close()
    settings_dict["USER"], settings_dict["PASSWORD"] = role.name, role.password
    try:
        yield
    finally:
        connection.close()
        settings_dict["USER"], settings_dict["PASSWORD"] = saved


def current_user() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        return str(cursor.fetchone()[0])


def gid(kind: str, pk: int) -> str:
    return base64.b64encode(f"{kind}:{pk}".encode()).decode()


# --- What the role cannot do ---------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE transactions_entry DISABLE TRIGGER entry_append_only",
        "ALTER TABLE transactions_entry DISABLE TRIGGER USER",
        "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
        "ALTER TABLE transactions_transaction DISABLE TRIGGER transaction_core_immutable",
        "DROP TRIGGER entry_no_truncate ON transactions_entry",
        "CREATE OR REPLACE FUNCTION ledger_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN NULL; END $$",
        "ALTER TABLE accounts_account DROP CONSTRAINT account_customer_within_credit_limit",
        "TRUNCATE transactions_entry",
        "TRUNCATE transactions_transaction CASCADE",
        "TRUNCATE audit_auditevent",
        "TRUNCATE accounts_account CASCADE",
        "TRUNCATE core_counter",
        "UPDATE transactions_entry SET amount = amount",
        "DELETE FROM transactions_entry",
        "UPDATE audit_auditevent SET outcome = outcome",
        "DELETE FROM audit_auditevent",
        "DELETE FROM transactions_transaction",
        "DELETE FROM accounts_account WHERE id <> 0",
        "UPDATE django_migrations SET app = app",
        "SET session_replication_role = replica",
        "CREATE TABLE probe (id int)",
        "CREATE TRIGGER probe BEFORE INSERT ON transactions_entry EXECUTE FUNCTION ledger_refuse_rewrite()",
        "SELECT setval(pg_get_serial_sequence('transactions_transaction', 'id'), 1)",
    ],
)
def test_the_app_role_cannot_disable_triggers_truncate_or_rewrite_history(app_role: AppRole, statement: str) -> None:
    a, b = make_account(10_000), make_account()
    transfer_create(spec=TransferSpec(a.pk, b.pk, 100, "PIX"))
    with app_role.connect() as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)
    assert verify()[0] == 0


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE transactions_transaction SET amount = amount + 1",
        "UPDATE transactions_transaction SET sender_id = receiver_id, receiver_id = sender_id",
    ],
)
def test_the_triggers_bind_the_app_role_where_it_may_update(app_role: AppRole, statement: str) -> None:
    """It may UPDATE a transaction's status (settling, cancelling), never its money columns."""
    a, b = make_account(10_000), make_account()
    transfer_create(spec=TransferSpec(a.pk, b.pk, 100, "PIX"))
    with app_role.connect() as conn, pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="ledger"):
        conn.execute(statement)


# --- What it can: the whole bank ---------------------------------------------------------


@pytest.mark.postgres_only
def test_the_app_role_runs_every_money_path_the_api_and_the_admin(app_role: AppRole, settings: Any) -> None:
    settings.LEDGER_CHECKPOINT_KEY = "k1:" + secrets.token_urlsafe(32)
    with connected_as(app_role):
        assert current_user() == app_role.name
        a, b = make_account(100_000), make_account()  # an account and its opening deposit
        pix = transfer_create(spec=TransferSpec(a.pk, b.pk, 1_000, "PIX")).transaction
        ted = transfer_create(spec=TransferSpec(a.pk, b.pk, 500, "TED")).transaction
        doc = transfer_create(spec=TransferSpec(a.pk, b.pk, 300, "DOC")).transaction
        assert pix is not None and ted is not None and doc is not None
        transaction_cancel(transaction_id=doc.pk)
        assert transactions_settle_due() == 1  # FOR UPDATE SKIP LOCKED and the status UPDATE
        transaction_reverse(transaction_id=pix.pk)
        results = transfer_batch_create(specs=[TransferSpec(a.pk, b.pk, 10, "PIX")] * 20)  # COPY (> 10)
        assert all(r.transaction is not None for r in results)

        user = User.objects.create_superuser("role-bank", password="x")
        key, token = api_key_create(user=user)
        response = Client().post(
            "/graphql",
            {
                "query": "mutation($s: ID!, $r: ID!) { createTransaction(input: "
                '{senderAccount: $s, receiverAccount: $r, amount: "1.00", type: PIX}) '
                "{ transaction { status } errors { code } } }",
                "variables": {"s": gid("Account", a.pk), "r": gid("Account", b.pk)},
            },
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
            secure=True,
        )
        assert response.status_code == 200, response.content
        assert json.loads(response.content)["data"]["createTransaction"] == {
            "transaction": {"status": "COMPLETED"},
            "errors": [],
        }
        staff = Client()
        login = {"username": "role-bank", "password": "wrong"}
        assert staff.post("/admin/login/", login, secure=True).status_code == 200  # django-axes counts it
        login["password"] = "x"
        assert staff.post("/admin/login/", login, secure=True).status_code == 302  # and resets; a session row
        assert staff.get("/admin/transactions/transaction/", secure=True).status_code == 200
        assert api_key_revoke(key=key)

        code, output = verify()
        assert code == 0, output
        code, _, err = run("ledger_checkpoint", out="-")
        assert code == 0, err
        assert database_role_owns_nothing(None) == []
        assert not may_lift_truncate_guard(connection)  # flush cannot lift the TRUNCATE triggers for it
    assert Transaction.objects.get(pk=ted.pk).status == TransactionStatus.COMPLETED


@pytest.mark.postgres_only
def test_gunicorn_and_the_settlement_worker_serve_as_the_app_role(app_role: AppRole) -> None:
    a, b = make_account(10_000), make_account()
    user = User.objects.create_superuser("role-gunicorn", password="x")
    _, token = api_key_create(user=user)
    query = (
        "mutation { createTransaction(input: "
        f'{{senderAccount: "{gid("Account", a.pk)}", receiverAccount: "{gid("Account", b.pk)}", '
        'amount: "2.50", type: TED}) { transaction { status } errors { code } } }'
    )
    # Its sessions are told from any other on this database (a test's pooled thread) by their name.
    with gunicorn_server("db-roles", DATABASE_URL=app_role.url() + "?application_name=db-roles-gunicorn") as server:
        request = urllib.request.Request(
            server.url + "/graphql",
            data=json.dumps({"query": query}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            body = json.loads(response.read())
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = 'db-roles-gunicorn'"
            )
            others = {row[0] for row in cursor.fetchall()}
    assert body["data"]["createTransaction"] == {"transaction": {"status": "PENDING"}, "errors": []}, body
    assert others == {app_role.name}

    worker = manage("settle_transactions", url=app_role.url())
    out, err = worker.communicate(timeout=120)
    assert worker.returncode == 0, out + err
    assert "settled 1 transaction" in out

    checker = manage("verify_ledger", url=app_role.url())
    out, err = checker.communicate(timeout=120)
    assert checker.returncode == 0, out + err


# --- The system check --------------------------------------------------------------------


@pytest.mark.postgres_only
def test_check_deploy_warns_when_the_app_connects_as_the_owner_or_a_superuser(app_role: AppRole) -> None:
    as_owner = manage("check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=LONG_SECRET_KEY)
    out, err = as_owner.communicate(timeout=120)
    assert as_owner.returncode != 0
    assert DATABASE_ROLE_OWNS_HISTORY in out + err and "is a superuser" in out + err

    as_app = manage("check", "--deploy", "--fail-level", "WARNING", url=app_role.url(), SECRET_KEY=LONG_SECRET_KEY)
    out, err = as_app.communicate(timeout=120)
    assert as_app.returncode == 0, out + err


@pytest.mark.postgres_only
def test_the_check_names_a_role_that_owns_the_tables_or_holds_too_much(app_role: AppRole) -> None:
    q = connection.ops.quote_name
    owner = current_user()
    raw(f"GRANT {q(owner)} TO {q(app_role.name)}")  # a member of the owner may act as the owner
    with connected_as(app_role):
        messages = database_role_owns_nothing(None)
    assert [m.id for m in messages] == [DATABASE_ROLE_OWNS_HISTORY]
    assert "owns audit_auditevent, transactions_entry, transactions_transaction" in messages[0].msg
    with pytest.raises(RoleError, match="owns"):
        grant_app_role(connection, app_role.name)
    raw(f"REVOKE {q(owner)} FROM {q(app_role.name)}")

    raw(f"GRANT TRUNCATE ON transactions_entry TO {q(app_role.name)}")
    with connected_as(app_role):
        messages = database_role_owns_nothing(None)
    assert [m.id for m in messages] == [DATABASE_ROLE_MAY_REWRITE]
    assert "TRUNCATE on transactions_entry" in messages[0].msg

    grant_app_role(connection, app_role.name)  # puts it back to the policy
    with connected_as(app_role):
        assert database_role_owns_nothing(None) == []


@pytest.mark.postgres_only
def test_grant_app_role_refuses_the_owner_itself(app_role: AppRole) -> None:
    with pytest.raises(RoleError, match="the tables' owner"):
        grant_app_role(connection, current_user())
    with pytest.raises(RoleError, match="not a plain role name"):
        grant_app_role(connection, 'x"; DROP TABLE transactions_entry; --')
    with pytest.raises(CommandError, match="the tables' owner"):
        run("grant_app_role", current_user())


# --- migrate grants it ---------------------------------------------------------------------


def privileges(role: str, table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p FROM unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','TRIGGER','REFERENCES']) p "
            "WHERE has_table_privilege(%s, %s, p)",
            [role, table],
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.postgres_only
def test_migrate_as_the_owner_grants_the_app_role_its_policy(app_role: AppRole) -> None:
    raw(f"REVOKE ALL ON transactions_entry, accounts_account FROM {connection.ops.quote_name(app_role.name)}")
    assert privileges(app_role.name, "transactions_entry") == set()

    migrate = manage(
        "migrate", "--no-input", LEDGER_DB_APP_ROLE=app_role.name, LEDGER_DB_APP_PASSWORD=app_role.password
    )
    out, err = migrate.communicate(timeout=300)
    assert migrate.returncode == 0, out + err
    assert f"database role {app_role.name} updated" in out

    for table, allowed in POLICY.items():
        assert privileges(app_role.name, table) == set(allowed), table
    assert privileges(app_role.name, "transactions_entry") == {"SELECT", "INSERT"}
    assert privileges(app_role.name, "transactions_transaction") == {"SELECT", "INSERT", "UPDATE"}
    with app_role.connect() as conn:  # the password migrate set is the one it logs in with
        assert conn.execute("SELECT current_user").fetchone() == (app_role.name,)


def test_every_table_has_a_decided_policy() -> None:
    """A new model's table must be listed in core/dbroles.py POLICY: what may the app do to it?

    Unlisted, it is read-only for the app (fail closed), which breaks whatever writes it.
    """
    tables = {model._meta.db_table for model in apps.get_models(include_auto_created=True)} | {"django_migrations"}
    assert sorted(tables - set(POLICY)) == []


# --- TRUNCATE ----------------------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("statement", "table"),
    [
        ("TRUNCATE transactions_entry", "transactions_entry"),
        ("TRUNCATE transactions_transaction CASCADE", "transactions_transaction"),
        ("TRUNCATE audit_auditevent", "audit_auditevent"),
        ("TRUNCATE accounts_account CASCADE", "transactions_"),  # reaches the history through the foreign keys
    ],
)
def test_truncate_is_refused_even_to_a_superuser(settlement: Any, statement: str, table: str) -> None:
    assert may_lift_truncate_guard(connection)  # the test connection is a superuser, on a test database
    make_account(1_000)
    raw("SET CONSTRAINTS ALL IMMEDIATE")  # else TRUNCATE stops first on the test's queued FK checks
    with pytest.raises(DatabaseError, match=f"ledger: TRUNCATE on {table}"):
        raw(statement)
    assert Transaction.objects.exists()


def test_flush_lifts_the_truncate_triggers_only_on_a_test_database() -> None:
    production = type(connections["default"])({**connection.settings_dict, "NAME": "ledger"}, alias="probe")
    assert not may_lift_truncate_guard(production)  # decided before any query: nothing connects
