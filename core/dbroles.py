"""The app's PostgreSQL role: it owns nothing and holds only the DML it needs.

A table's owner can disable its triggers, and a superuser can do anything, so
the append-only triggers bind only a role that is neither. Migrations run as
the owner; the app and the workers connect as the role ``grant_app_role``
makes here: no TRUNCATE, no UPDATE or DELETE on history, no TRIGGER or
REFERENCES, no DDL. ``migrate`` applies it on every run when
``LEDGER_DB_APP_ROLE`` is set (``post_migrate``), so a new table gets its grants
on the deploy that creates it; ``manage.py grant_app_role`` does it by hand.
A table missing from ``POLICY`` is readable only, until someone decides.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql as psycopg_sql

SELECT, INSERT, UPDATE, DELETE = "SELECT", "INSERT", "UPDATE", "DELETE"
ALL_DML = (SELECT, INSERT, UPDATE, DELETE)

# Per table, what the app may do. The history tables are appended to and never rewritten
# (their triggers refuse UPDATE/DELETE anyway); Django's bookkeeping tables are written
# by migrate alone.
POLICY: dict[str, tuple[str, ...]] = {
    "transactions_entry": (SELECT, INSERT),
    "audit_auditevent": (SELECT, INSERT),
    # status, failure_reason, completed_at change; a trigger guards the money columns.
    "transactions_transaction": (SELECT, INSERT, UPDATE),
    "accounts_account": (SELECT, INSERT, UPDATE),
    "core_counter": (SELECT, INSERT, UPDATE),
    # Revoked keys are updated; deleting a user in the admin deletes their keys and log lines.
    "access_apikey": ALL_DML,
    # Apollo's clients register documents (open mode); uses are counted; revoked ones are updated, never deleted.
    "trusted_trusteddocument": (SELECT, INSERT, UPDATE),
    "django_admin_log": (SELECT, INSERT, DELETE),
    "django_session": ALL_DML,
    "auth_user": ALL_DML,
    "auth_group": ALL_DML,
    "auth_group_permissions": ALL_DML,
    "auth_user_groups": ALL_DML,
    "auth_user_user_permissions": ALL_DML,
    # django-axes (admin sign-in throttling): failures are counted, reset and expired per request.
    "axes_accessattempt": ALL_DML,
    "axes_accessattemptexpiration": ALL_DML,
    "axes_accessfailurelog": ALL_DML,
    "axes_accesslog": ALL_DML,
    "auth_permission": (SELECT,),
    "django_content_type": (SELECT,),
    "django_migrations": (SELECT,),
}
DEFAULT = (SELECT,)

# What the app's role must never hold on the history tables (the owner holds all of it).
HISTORY_TABLES = ("transactions_entry", "transactions_transaction", "audit_auditevent")
FORBIDDEN = {
    "transactions_entry": ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES"),
    "audit_auditevent": ("UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES"),
    "transactions_transaction": ("DELETE", "TRUNCATE", "TRIGGER", "REFERENCES"),
}
# Role attributes that would let the app's role escape its grants.
DANGEROUS_ATTRIBUTES = ("rolsuper", "rolcreaterole", "rolbypassrls", "rolreplication")

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class RoleError(Exception):
    """The role cannot be made safe as asked (it is the owner, a superuser, or owns a table)."""


@dataclass
class GrantReport:
    role: str
    created: bool
    tables: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unlisted: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RoleFacts:
    """What the connected role may do to the ledger's history, for the system check."""

    role: str
    superuser: bool
    owned: tuple[str, ...]
    excess: tuple[str, ...]


def _execute(connection: BaseDatabaseWrapper, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []


def grant_app_role(connection: BaseDatabaseWrapper, role: str, password: str = "") -> GrantReport:
    """Creates ``role`` (LOGIN) if missing and sets its privileges to exactly ``POLICY``; idempotent.

    Run as the tables' owner (the role ``migrate`` runs as). The password, when
    given, is sent as a SCRAM verifier computed here, so it never reaches the
    server's statement log.
    """
    if connection.vendor != "postgresql":
        raise RoleError("database roles need PostgreSQL")
    if not ROLE_NAME.fullmatch(role):
        raise RoleError(f"{role!r} is not a plain role name (lower case letters, digits, _)")
    q = connection.ops.quote_name
    with transaction.atomic(using=connection.alias):
        [(me, schema, database)] = _execute(connection, "SELECT current_user, current_schema(), current_database()")
        if role == me:
            raise RoleError(f"{role} is the role running this, the tables' owner: the app needs a role of its own")
        found = _execute(
            connection, f"SELECT {', '.join(DANGEROUS_ATTRIBUTES)} FROM pg_roles WHERE rolname = %s", [role]
        )
        created = not found
        if created:
            _execute(
                connection,
                f"CREATE ROLE {q(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
            )
        else:
            held = [name[3:].upper() for name, value in zip(DANGEROUS_ATTRIBUTES, found[0], strict=True) if value]
            if held:
                raise RoleError(f"role {role} has {', '.join(held)}: the app's role must have none of these")
        owned = _execute(
            connection,
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND pg_has_role(%s, c.relowner, 'MEMBER') ORDER BY 1",
            [schema, role],
        )
        if owned:
            raise RoleError(
                f"role {role} owns (or is a member of the owner of) {', '.join(r[0] for r in owned[:5])}: "
                "an owner can disable the ledger's triggers"
            )
        if password:
            raw = connection.connection
            verifier = raw.pgconn.encrypt_password(password.encode(), role.encode(), None).decode()
            _execute(connection, f"ALTER ROLE {q(role)} PASSWORD " + psycopg_sql.Literal(verifier).as_string(raw))
        _execute(connection, f"REVOKE ALL ON ALL TABLES IN SCHEMA {q(schema)} FROM {q(role)}")
        _execute(connection, f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {q(schema)} FROM {q(role)}")
        _execute(connection, f"GRANT CONNECT ON DATABASE {q(database)} TO {q(role)}")
        _execute(connection, f"GRANT USAGE ON SCHEMA {q(schema)} TO {q(role)}")
        report = GrantReport(role=role, created=created)
        tables = _execute(
            connection,
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY 1",
            [schema],
        )
        for (table,) in tables:
            privileges = POLICY.get(table, DEFAULT)
            if table not in POLICY:
                report.unlisted.append(table)
            _execute(connection, f"GRANT {', '.join(privileges)} ON {q(table)} TO {q(role)}")
            report.tables[table] = privileges
        # nextval() for inserts (and transactions.writer.reserve_ids); no UPDATE, so no setval().
        _execute(connection, f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {q(schema)} TO {q(role)}")
        # Tables a later migration creates are readable at once; their DML comes with this on that deploy.
        _execute(connection, f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q(schema)} GRANT SELECT ON TABLES TO {q(role)}")
        _execute(
            connection,
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {q(schema)} GRANT USAGE, SELECT ON SEQUENCES TO {q(role)}",
        )
    return report


def role_facts(connection: BaseDatabaseWrapper) -> RoleFacts:
    """Whether the connected role is a superuser, which ledger tables it owns, what it may do to history."""
    [(role, superuser)] = _execute(connection, "SELECT current_user, current_setting('is_superuser') = 'on'")
    owned = _execute(
        connection,
        "SELECT c.relname FROM pg_class c WHERE c.relname = ANY(%s) AND c.relkind IN ('r', 'p') "
        "AND pg_table_is_visible(c.oid) AND pg_has_role(current_user, c.relowner, 'MEMBER') ORDER BY 1",
        [list(HISTORY_TABLES)],
    )
    excess: list[str] = []
    for table, privileges in FORBIDDEN.items():
        rows = _execute(
            connection,
            "SELECT p FROM unnest(%s::text[]) AS p WHERE to_regclass(%s) IS NOT NULL "
            "AND has_table_privilege(current_user, %s, p)",
            [list(privileges), table, table],
        )
        excess += [f"{p} on {table}" for (p,) in rows]
    return RoleFacts(role, bool(superuser), tuple(r[0] for r in owned), tuple(excess))


def grant_after_migrate(using: str = DEFAULT_DB_ALIAS, verbosity: int = 1, **kwargs: Any) -> None:
    """``post_migrate``: with ``LEDGER_DB_APP_ROLE`` set, migrate (run as the owner) also grants the app role."""
    role = settings.LEDGER_DB_APP_ROLE
    connection = connections[using]
    if not role or connection.vendor != "postgresql":
        return
    report = grant_app_role(connection, role, settings.LEDGER_DB_APP_PASSWORD)
    if verbosity >= 1:
        print(describe(report), file=kwargs.get("stdout") or sys.stdout)


def describe(report: GrantReport) -> str:
    """One line for the operator: what the role got, and the tables nobody has decided about."""
    line = (
        f"database role {report.role} {'created' if report.created else 'updated'}: "
        f"DML on {len(report.tables)} tables as core/dbroles.py POLICY says, no TRUNCATE, owns nothing"
    )
    if report.unlisted:
        line += f"; read-only until listed in POLICY: {', '.join(report.unlisted)}"
    return line
