"""Audit events are append-only, by the database itself (docs/INVARIANTS.md): the SQL of each migration."""

from __future__ import annotations

from core.triggers import REFUSE_REWRITE_FUNCTION, VendorSQL

# audit/0002: UPDATE and DELETE refused, row by row.
APPEND_ONLY = VendorSQL(
    forward={
        "postgresql": (
            REFUSE_REWRITE_FUNCTION
            + """CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_rewrite();
""",
        ),
        "sqlite": (
            """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'ledger: UPDATE on audit_auditevent is refused: the ledger is append-only'); END""",
            """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_auditevent
       BEGIN SELECT RAISE(ABORT, 'ledger: DELETE on audit_auditevent is refused: the ledger is append-only'); END""",
        ),
    },
    backward={
        "postgresql": ("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;",),
        "sqlite": ("DROP TRIGGER IF EXISTS audit_event_no_update", "DROP TRIGGER IF EXISTS audit_event_no_delete"),
    },
)

# audit/0003: TRUNCATE refused, a statement-level trigger (row triggers do not fire on it). SQLite has no TRUNCATE.
TRUNCATE_GUARD = VendorSQL(
    forward={
        "postgresql": (
            "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_rewrite();",
        ),
        "sqlite": (),
    },
    backward={
        "postgresql": ("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;",),
        "sqlite": (),
    },
)

SCRIPTS = (APPEND_ONLY, TRUNCATE_GUARD)
