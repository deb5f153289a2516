"""Trigger SQL of the access app: every change to a key or a user is announced to the key caches.

``access.keycache`` keeps active keys in each web process; these triggers
``NOTIFY`` its channel when a key or a user row is updated or deleted, by any
path (the service, the admin, a command, plain SQL), so each process drops
its cache when the change commits. SQLite has no NOTIFY and no cache.
"""

from __future__ import annotations

from core.triggers import VendorSQL

CHANNEL = "ledger_api_keys"

KEY_CHANGES = VendorSQL(
    forward={
        "postgresql": (
            f"""
CREATE FUNCTION ledger_api_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
""",
            "CREATE TRIGGER api_key_changed AFTER UPDATE OR DELETE OR TRUNCATE ON access_apikey "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_api_keys_changed();",
            "CREATE TRIGGER api_key_user_changed AFTER UPDATE OR DELETE OR TRUNCATE ON auth_user "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_api_keys_changed();",
        ),
        "sqlite": (),
    },
    backward={
        "postgresql": (
            "DROP TRIGGER IF EXISTS api_key_user_changed ON auth_user;",
            "DROP TRIGGER IF EXISTS api_key_changed ON access_apikey;",
            "DROP FUNCTION IF EXISTS ledger_api_keys_changed();",
        ),
        "sqlite": (),
    },
)
