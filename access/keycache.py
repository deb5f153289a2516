"""A per-process cache of active API keys, so that a bearer request costs no statement to authenticate.

Revocation stays immediate because the cache is only trusted while it can
hear about changes: a daemon thread holds its own PostgreSQL connection
``LISTEN``-ing on ``access.triggers.CHANNEL``, which triggers on the key and
user tables ``NOTIFY`` in the transaction that changes them; every
notification empties the cache. While that connection is down (not yet up,
lost, a failover) nothing is read from the cache and it is emptied, so a
lookup goes to the database as it did before. Also:

- a changed key or user (``post_save``/``post_delete``) empties this process's
  cache at once, before its transaction commits;
- a lookup that raced a change does not store its row (a generation count);
- inside a transaction (``atomic``) the cache is not used: the lookup must see
  the transaction's own changes;
- bounded (``MAX_KEYS``, least recently used out) and every entry expires
  after ``LEDGER_KEY_CACHE_SECONDS`` (default 10; 0 turns the cache off)
  whatever happens;
- off on SQLite and behind a transaction-mode pooler (``DATABASE_POOLER``),
  where ``LISTEN`` cannot work.

Entries are the converted column values, never model instances: each request
gets fresh objects, so nothing one request caches on them (permissions) leaks
into another.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from access.triggers import CHANNEL

logger = logging.getLogger("ledger.access")

MAX_KEYS = 1024
RECONNECT_SECONDS = 1.0
POLL_SECONDS = 1.0  # how often the listener looks up from its connection to see if it should stop
LISTENER_NAME = "ledger-key-cache"  # the listener session's application_name

Row = tuple[tuple[Any, ...], tuple[Any, ...]]  # (key values, user values), converted


class KeyCache:
    """Token hash → the key's and its user's column values, trusted only while the listener is up."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, Row]] = OrderedDict()
        self._generation = 0
        self._listening = False
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    # --- what lookups call ------------------------------------------------------------------

    def usable(self) -> bool:
        """Whether lookups may use the cache now; starts the listener on first need (and after a fork)."""
        if os.getpid() != self._pid:  # a forked worker: the parent's thread and entries are not ours
            self._reset()
        connection = connections[DEFAULT_DB_ALIAS]
        pooled = bool(getattr(settings, "DATABASE_POOLER", None))
        if connection.vendor != "postgresql" or pooled or connection.in_atomic_block or ttl_seconds() <= 0:
            return False
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._listen, name="api-key-cache", daemon=True)
                    self._thread.start()
        return self._listening

    @property
    def generation(self) -> int:
        return self._generation

    def get(self, token_hash: str) -> Row | None:
        with self._lock:
            found = self._entries.get(token_hash)
            if found is None or not self._listening:
                return None
            expires, row = found
            if expires < time.monotonic():
                del self._entries[token_hash]
                return None
            self._entries.move_to_end(token_hash)
            return row

    def put(self, token_hash: str, row: Row, generation: int) -> None:
        """Stores a row read from the database, unless a change was heard since ``generation`` was read."""
        with self._lock:
            if generation != self._generation or not self._listening:
                return
            self._entries[token_hash] = (time.monotonic() + ttl_seconds(), row)
            self._entries.move_to_end(token_hash)
            while len(self._entries) > MAX_KEYS:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    # --- the listener ---------------------------------------------------------------------------

    def _set_listening(self, listening: bool) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()
            self._listening = listening

    def _listen(self) -> None:
        while not self._stopped.is_set():
            raw = None
            try:
                connection = connections[DEFAULT_DB_ALIAS]
                raw = connection.get_new_connection(connection.get_connection_params())
                raw.autocommit = True
                raw.execute(f"SET application_name = '{LISTENER_NAME}'")  # what it is, in pg_stat_activity
                raw.execute(f"LISTEN {CHANNEL}")
                self._set_listening(True)
                while not self._stopped.is_set():
                    for _ in raw.notifies(timeout=POLL_SECONDS):
                        self.clear()
            except Exception:  # the server went away, a failover: lookups go to the database until back
                if not self._stopped.is_set():
                    logger.warning("The API key cache lost its notification connection; lookups read the database")
            finally:
                self._set_listening(False)
                if raw is not None:
                    raw.close()
            self._stopped.wait(RECONNECT_SECONDS)

    def stop(self) -> None:
        """Closes the listener (tests, before their database is dropped); the cache is off until ``_reset``."""
        self._stopped.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout=POLL_SECONDS * 5)


def ttl_seconds() -> float:
    return float(getattr(settings, "LEDGER_KEY_CACHE_SECONDS", 10.0))


KEYS = KeyCache()
