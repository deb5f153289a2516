"""The database itself refuses to rewrite history (docs/INVARIANTS.md): the SQL of each migration, per vendor.

Entries are append-only; transactions are never deleted and never change
sender, receiver, amount, type, metadata, capture mode or hold expiry;
neither table can be truncated. Installed
for PostgreSQL and SQLite alike, so a raw SQL ``UPDATE`` or ``DELETE`` fails
whatever code sends it. ``verify_ledger`` checks the triggers named here are
installed and enabled.
"""

from __future__ import annotations

from audit import triggers as audit_triggers
from core.triggers import REFUSE_REWRITE_FUNCTION, VendorSQL

# transactions/0002: entries never change, transactions are never deleted and keep their core columns.
APPEND_ONLY = VendorSQL(
    forward={
        "postgresql": (
            REFUSE_REWRITE_FUNCTION
            + """
CREATE OR REPLACE FUNCTION ledger_refuse_transaction_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.sender_id IS DISTINCT FROM OLD.sender_id
       OR NEW.receiver_id IS DISTINCT FROM OLD.receiver_id
       OR NEW.amount IS DISTINCT FROM OLD.amount
       OR NEW.type IS DISTINCT FROM OLD.type THEN
        RAISE EXCEPTION 'ledger: a transaction never changes sender, receiver, amount or type'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER entry_append_only BEFORE UPDATE OR DELETE ON transactions_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_rewrite();
CREATE TRIGGER transaction_never_deleted BEFORE DELETE ON transactions_transaction
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_rewrite();
CREATE TRIGGER transaction_core_immutable BEFORE UPDATE ON transactions_transaction
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_transaction_change();
""",
        ),
        "sqlite": (
            """CREATE TRIGGER entry_no_update BEFORE UPDATE ON transactions_entry
       BEGIN SELECT RAISE(ABORT, 'ledger: UPDATE on transactions_entry is refused: the ledger is append-only'); END""",
            """CREATE TRIGGER entry_no_delete BEFORE DELETE ON transactions_entry
       BEGIN SELECT RAISE(ABORT, 'ledger: DELETE on transactions_entry is refused: the ledger is append-only'); END""",
            """CREATE TRIGGER transaction_never_deleted BEFORE DELETE ON transactions_transaction
       BEGIN SELECT RAISE(ABORT, 'ledger: DELETE on transactions_transaction is refused'); END""",
            """CREATE TRIGGER transaction_core_immutable BEFORE UPDATE ON transactions_transaction
       WHEN NEW.sender_id IS NOT OLD.sender_id OR NEW.receiver_id IS NOT OLD.receiver_id
         OR NEW.amount IS NOT OLD.amount OR NEW.type IS NOT OLD.type
       BEGIN SELECT RAISE(ABORT, 'ledger: a transaction never changes sender, receiver, amount or type'); END""",
        ),
    },
    backward={
        "postgresql": (
            """
DROP TRIGGER IF EXISTS transaction_core_immutable ON transactions_transaction;
DROP TRIGGER IF EXISTS transaction_never_deleted ON transactions_transaction;
DROP TRIGGER IF EXISTS entry_append_only ON transactions_entry;
DROP FUNCTION IF EXISTS ledger_refuse_transaction_change();
""",
        ),
        "sqlite": (
            "DROP TRIGGER IF EXISTS entry_no_update",
            "DROP TRIGGER IF EXISTS entry_no_delete",
            "DROP TRIGGER IF EXISTS transaction_never_deleted",
            "DROP TRIGGER IF EXISTS transaction_core_immutable",
        ),
    },
)

# transactions/0004: TRUNCATE refused, statement-level (row triggers do not fire on it, also when a
# TRUNCATE ... CASCADE of another table reaches these). SQLite has no TRUNCATE: its DELETE is refused by 0002.
TRUNCATE_GUARD = VendorSQL(
    forward={
        "postgresql": (
            """
CREATE TRIGGER entry_no_truncate BEFORE TRUNCATE ON transactions_entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_rewrite();
CREATE TRIGGER transaction_no_truncate BEFORE TRUNCATE ON transactions_transaction
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_rewrite();
""",
        ),
        "sqlite": (),
    },
    backward={
        "postgresql": (
            """
DROP TRIGGER IF EXISTS transaction_no_truncate ON transactions_transaction;
DROP TRIGGER IF EXISTS entry_no_truncate ON transactions_entry;
""",
        ),
        "sqlite": (),
    },
)


def _frozen_columns(trigger: str, function: str, columns: tuple[str, ...], what: str) -> VendorSQL:
    """A trigger refusing any UPDATE that changes ``columns`` of a transaction, set once at its creation."""
    changed = ", ".join(columns)
    differs = " OR ".join(f"NEW.{column} IS DISTINCT FROM OLD.{column}" for column in columns)
    differs_sqlite = " OR ".join(f"NEW.{column} IS NOT OLD.{column}" for column in columns)
    message = f"ledger: a transaction never changes its {what}"
    return VendorSQL(
        forward={
            "postgresql": (
                f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{message}'
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER {trigger} BEFORE UPDATE OF {changed} ON transactions_transaction
    FOR EACH ROW WHEN ({differs})
    EXECUTE FUNCTION {function}();
""",
            ),
            "sqlite": (
                f"""CREATE TRIGGER {trigger} BEFORE UPDATE OF {changed} ON transactions_transaction
       WHEN {differs_sqlite}
       BEGIN SELECT RAISE(ABORT, '{message}'); END""",
            ),
        },
        backward={
            "postgresql": (
                f"""
DROP TRIGGER IF EXISTS {trigger} ON transactions_transaction;
DROP FUNCTION IF EXISTS {function}();
""",
            ),
            "sqlite": (f"DROP TRIGGER IF EXISTS {trigger}",),
        },
    )


# transactions/0005: a transaction's metadata is set at creation and never changes (records.md), like its parties.
# A trigger of its own, so 0002's SQL stays as it was installed.
METADATA_IMMUTABLE = _frozen_columns(
    "transaction_metadata_immutable", "ledger_refuse_metadata_change", ("metadata",), "metadata"
)


# transactions/0007: SQLite adds a column with a default or a CHECK by rebuilding the table, which drops
# the table's triggers; this puts 0002's and 0005's back, unchanged (PostgreSQL alters the table in place).
_SQLITE_TRANSACTION_TRIGGERS = APPEND_ONLY.forward["sqlite"][2:]
SQLITE_REBUILT = VendorSQL(
    forward={
        "postgresql": (),
        "sqlite": (
            "DROP TRIGGER IF EXISTS transaction_never_deleted",
            "DROP TRIGGER IF EXISTS transaction_core_immutable",
            "DROP TRIGGER IF EXISTS transaction_metadata_immutable",
            *_SQLITE_TRANSACTION_TRIGGERS,
            *METADATA_IMMUTABLE.forward["sqlite"],
        ),
    },
    backward={"postgresql": (), "sqlite": ()},
)


# transactions/0008: how a transaction was authorized (captureMode, holdExpiresAt) is set at creation and never
# changes: a hold's expiry rewritten in place would keep money held, or release it, against what was agreed.
HOLD_TERMS_IMMUTABLE = _frozen_columns(
    "transaction_hold_terms_immutable",
    "ledger_refuse_hold_terms_change",
    ("capture_mode", "hold_expires_at"),
    "capture mode or hold expiry",
)


SCRIPTS = (APPEND_ONLY, TRUNCATE_GUARD, METADATA_IMMUTABLE, HOLD_TERMS_IMMUTABLE)
# Every history trigger of the ledger, both apps': what verify_ledger expects on each vendor.
ALL_SCRIPTS = (*audit_triggers.SCRIPTS, *SCRIPTS)
