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

# audit/0004 (records.md): every new event bumps the "audit_events" counter (core.counters) in its own
# transaction, whatever code inserts it, so Query.auditEvents' unfiltered totalCount is O(1). A slot per
# backend, as the writer's counters do, so concurrent writers rarely meet on one row.
COUNTED = VendorSQL(
    forward={
        "postgresql": (
            """
CREATE OR REPLACE FUNCTION ledger_count_audit_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO core_counter (name, slot, value) VALUES ('audit_events', pg_backend_pid() % 16, 1)
        ON CONFLICT (name, slot) DO UPDATE SET value = core_counter.value + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER audit_event_counted AFTER INSERT ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION ledger_count_audit_event();
INSERT INTO core_counter (name, slot, value) SELECT 'audit_events', 0, COUNT(*) FROM audit_auditevent
    ON CONFLICT (name, slot) DO UPDATE SET value = core_counter.value + excluded.value;
""",
        ),
        "sqlite": (
            """CREATE TRIGGER audit_event_counted AFTER INSERT ON audit_auditevent
       BEGIN INSERT INTO core_counter (name, slot, value) VALUES ('audit_events', 0, 1)
         ON CONFLICT (name, slot) DO UPDATE SET value = value + 1; END""",
            """INSERT INTO core_counter (name, slot, value) SELECT 'audit_events', 0, COUNT(*) FROM audit_auditevent
       WHERE true ON CONFLICT (name, slot) DO UPDATE SET value = value + excluded.value""",
        ),
    },
    backward={
        "postgresql": (
            """
DROP TRIGGER IF EXISTS audit_event_counted ON audit_auditevent;
DROP FUNCTION IF EXISTS ledger_count_audit_event();
DELETE FROM core_counter WHERE name = 'audit_events';
""",
        ),
        "sqlite": (
            "DROP TRIGGER IF EXISTS audit_event_counted",
            "DELETE FROM core_counter WHERE name = 'audit_events'",
        ),
    },
)
