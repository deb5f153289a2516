"""Reads on the standby, only where a stale read cannot hurt.

``settings.py`` installs ``ReplicaRouter`` when ``DATABASE_REPLICA_URL`` is set. The
router is inert by default: every read and write goes to ``default`` (the
primary) unless the code is inside ``reads_from_replica()``, which the GraphQL
view opens around a query operation, never around a mutation. A mutation, a
service, the settlement worker and anything inside a transaction on the primary
therefore always read the primary, so a write and the reads that decide it
stay on one server. A ContextVar keeps requests on different threads apart.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA_ALIAS = "replica"

_replica_reads: contextvars.ContextVar[bool] = contextvars.ContextVar("ledger_replica_reads", default=False)


@contextmanager
def reads_from_replica(enabled: bool = True) -> Iterator[None]:
    """Within the block, ORM reads outside any transaction go to the replica (if one is configured)."""
    token = _replica_reads.set(enabled)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def replica_reads_enabled() -> bool:
    """True inside ``reads_from_replica()`` when a replica alias exists."""
    return _replica_reads.get() and REPLICA_ALIAS in connections.settings


class ReplicaRouter:
    """Django database router: the primary for everything but flagged reads."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        # Said explicitly, not left to Django: its fallback is the database an instance was
        # read from, which would let a row read on the standby pull its relations from there.
        if not replica_reads_enabled():
            return DEFAULT_DB_ALIAS
        # A read inside a transaction on the primary must see that transaction's own rows.
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return REPLICA_ALIAS

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # both aliases are the same database, one node ahead of the other

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db != REPLICA_ALIAS  # a standby is read-only; the schema arrives by replication
