"""The database itself refuses to rewrite history (docs/INVARIANTS.md).

Entries are append-only; transactions are never deleted and never change
sender, receiver, amount or type. Installed for PostgreSQL and SQLite alike, so
a raw SQL ``UPDATE`` or ``DELETE`` fails whatever code sends it. TRUNCATE is
left to the table owner (test teardown uses it); production roles should not
own the tables.
"""

from django.db import migrations

POSTGRESQL_FORWARD = """
CREATE OR REPLACE FUNCTION ledger_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on % is refused: the ledger is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;

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
"""

POSTGRESQL_BACKWARD = """
DROP TRIGGER IF EXISTS transaction_core_immutable ON transactions_transaction;
DROP TRIGGER IF EXISTS transaction_never_deleted ON transactions_transaction;
DROP TRIGGER IF EXISTS entry_append_only ON transactions_entry;
DROP FUNCTION IF EXISTS ledger_refuse_transaction_change();
"""

SQLITE_FORWARD = [
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
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS entry_no_update",
    "DROP TRIGGER IF EXISTS entry_no_delete",
    "DROP TRIGGER IF EXISTS transaction_never_deleted",
    "DROP TRIGGER IF EXISTS transaction_core_immutable",
]


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_FORWARD, params=None)
    else:
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_BACKWARD, params=None)
    else:
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("transactions", "0001_initial"), ("audit", "0002_append_only_triggers")]
    operations = [migrations.RunPython(forward, backward)]
