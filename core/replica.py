"""Read-your-writes on the standby: a query goes there only when that cannot show a client less than it saw.

A mutation hands back its commit's WAL position (``commit_position``) as a
token; a query that sends the token back is served by the standby once the
standby has replayed that position, waiting at most ``LEDGER_REPLICA_WAIT_MS``,
else by the primary. A query without a token goes to the standby only while
its replay lag is under ``LEDGER_REPLICA_MAX_LAG_MS``. The lag is measured at
most every ``LAG_TTL_S`` per process, so most queries pay no extra round trip.
A standby that does not answer is skipped, never an error: the primary can
always serve a read.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from core.routing import REPLICA_ALIAS

logger = logging.getLogger("ledger.replica")

TOKEN = re.compile(r"^[0-9A-F]{1,8}/[0-9A-F]{1,8}$")  # a pg_lsn as PostgreSQL prints it
LAG_TTL_S = 0.2
POLL_S = 0.002


def replica_configured() -> bool:
    return REPLICA_ALIAS in connections.settings and connections[DEFAULT_DB_ALIAS].vendor == "postgresql"


def commit_position() -> str | None:
    """The primary's WAL position after a commit: every change committed so far is at or before it.

    None without a replica: there is nothing a token could be checked against.
    """
    if not replica_configured():
        return None
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        (position,) = cursor.fetchone()
    return str(position)


def parse_token(raw: str | None) -> str | None:
    """A well-formed ``Ledger-Read-After`` value, upper-cased; None when absent or malformed (then ignored)."""
    if not raw:
        return None
    token = raw.strip().upper()
    return token if TOKEN.match(token) else None


@dataclass
class ReplicaState:
    """What this process last saw of the standby: served by /readyz and /metrics."""

    reachable: bool | None = None  # None: not asked yet
    lag_ms: float | None = None
    measured_at: float = 0.0


STATE = ReplicaState()
_lock = threading.Lock()


def read_alias(token: str | None) -> str:
    """The database a query should read from: the standby when it is safe, else the primary."""
    if not replica_configured():
        return DEFAULT_DB_ALIAS
    if token is not None:
        return REPLICA_ALIAS if _replayed(token, settings.LEDGER_REPLICA_WAIT_MS / 1000) else DEFAULT_DB_ALIAS
    lag = replica_lag_ms()
    return REPLICA_ALIAS if lag is not None and lag < settings.LEDGER_REPLICA_MAX_LAG_MS else DEFAULT_DB_ALIAS


def replica_lag_ms(max_age_s: float = LAG_TTL_S) -> float | None:
    """The standby's replay lag in ms, measured at most every ``max_age_s``; None when it does not answer."""
    now = time.monotonic()
    with _lock:
        if STATE.reachable is not None and now - STATE.measured_at < max_age_s:
            return STATE.lag_ms if STATE.reachable else None
    lag: float | None
    try:
        # Caught up (all received WAL replayed) is lag 0, however long ago the last commit was.
        lag = float(
            _one(
                "SELECT CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() "
                "THEN 0 ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) * 1000, 0) END"
            )
        )
        reachable = True
    except DatabaseError:
        logger.warning("The standby does not answer; reads go to the primary")
        lag, reachable = None, False
    with _lock:
        STATE.reachable, STATE.lag_ms, STATE.measured_at = reachable, lag, time.monotonic()
    return lag


def _replayed(token: str, wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            # On a primary (no recovery) pg_last_wal_replay_lsn() is NULL: treat it as "has it all".
            if _one("SELECT COALESCE(pg_last_wal_replay_lsn() >= %s::pg_lsn, NOT pg_is_in_recovery())", [token]):
                return True
        except DatabaseError:
            logger.warning("The standby does not answer; reads go to the primary")
            return False
        if time.monotonic() + POLL_S > deadline:
            return False
        time.sleep(POLL_S)


def _one(sql: str, params: list[str] | None = None) -> Any:
    replica = connections[REPLICA_ALIAS]
    try:
        with replica.cursor() as cursor:
            cursor.execute(sql, params)
            (value,) = cursor.fetchone()
        return value
    except DatabaseError:
        replica.close()  # reconnect next time: the standby may have been restarted or promoted
        raise
