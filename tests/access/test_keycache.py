"""The per-process API key cache (access.keycache): no statement for a known key, revocation still immediate.

With real commits (``live_db``): the cache is only used outside a transaction,
and only while its listener hears the triggers' NOTIFY. A change made by
another session (another process: a raw psycopg connection here) reaches
this process through PostgreSQL, not through anything in Python.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from access import keycache
from access.keycache import KEYS, KeyCache
from access.models import ApiKey
from access.services import api_key_create, api_key_revoke

pytestmark = [pytest.mark.postgres_only, pytest.mark.usefixtures("live_db")]

QUERY = "{ accounts(first: 1) { edges { node { id } } } }"


@pytest.fixture(autouse=True)
def plain_http(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture
def token() -> str:
    return api_key_create(user=User.objects.create_superuser("cache-user", password="x"))[1]


def ask(token: str) -> tuple[int, int]:
    """Status of one API request and how many statements read the key table."""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    with CaptureQueriesContext(connection) as ran:
        response = client.post("/graphql", json.dumps({"query": QUERY}), content_type="application/json")
    return response.status_code, sum("access_apikey" in query["sql"] for query in ran.captured_queries)


def warm(token: str) -> None:
    """Until the listener is up and the key is cached (the first request of a process may precede it)."""
    deadline = time.monotonic() + 10
    while ask(token) != (200, 0):
        assert time.monotonic() < deadline, "the key was never served from the cache"
        time.sleep(0.05)


def elsewhere(sql: str, *params: Any) -> None:
    """Runs ``sql`` in another session, committed: what another process or an operator's psql does."""
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute(sql, params)


def refused_within(token: str, seconds: float) -> float:
    started = time.monotonic()
    while ask(token)[0] != 401:
        assert time.monotonic() - started < seconds, "still accepted"
        time.sleep(0.005)
    return time.monotonic() - started


def test_a_known_key_costs_no_statement(token: str) -> None:
    assert ask(token)[0] == 200
    warm(token)
    assert ask(token) == (200, 0)


def test_a_revocation_through_the_service_refuses_the_very_next_request(token: str) -> None:
    warm(token)
    api_key_revoke(key=ApiKey.objects.get())
    assert ask(token)[0] == 401


def test_a_revocation_by_another_session_is_heard_at_once(token: str) -> None:
    warm(token)
    elsewhere("UPDATE access_apikey SET revoked_at = now()")
    assert refused_within(token, 2.0) < 2.0  # the NOTIFY's trip: milliseconds


def test_a_user_deactivated_by_another_session_is_refused(token: str) -> None:
    warm(token)
    elsewhere("UPDATE auth_user SET is_active = false")
    refused_within(token, 2.0)


def test_a_key_deleted_by_another_session_is_refused(token: str) -> None:
    warm(token)
    elsewhere("DELETE FROM access_apikey")
    refused_within(token, 2.0)


@pytest.fixture
def cleared_by_this_thread(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each emptying of the cache done by the test's own thread (the listener's, on NOTIFY, are left out)."""
    calls: list[int] = []
    here, clear = threading.get_ident(), KEYS.clear

    def counted() -> None:
        if threading.get_ident() == here:
            calls.append(1)
        clear()

    monkeypatch.setattr(KEYS, "clear", counted)
    return calls


CHANGES = ["deactivate the user", "delete the user", "make the key read-only", "delete the key"]


@pytest.mark.parametrize("change", CHANGES)
def test_a_key_or_user_change_in_this_process_empties_the_cache_before_it_commits(
    token: str, change: str, cleared_by_this_thread: list[int]
) -> None:
    warm(token)
    with transaction.atomic():  # the trigger's NOTIFY waits for the commit; only post_save/post_delete run before
        user, key = User.objects.get(), ApiKey.objects.get()
        if change == "deactivate the user":
            user.is_active = False
            user.save()
        elif change == "delete the user":
            user.delete()
        elif change == "make the key read-only":
            key.read_only = True
            key.save()
        else:
            key.delete()
        assert cleared_by_this_thread, "the change did not empty this process's cache"
    if change != "make the key read-only":
        assert ask(token)[0] == 401


def test_an_unknown_token_is_never_cached(token: str) -> None:
    warm(token)
    size = len(KEYS)
    assert ask("ldg_not-a-key")[0] == 401
    assert len(KEYS) == size


@pytest.fixture
def listening() -> Iterator[KeyCache]:
    """A cache of its own, marked as listening: its rules without a listener thread."""
    cache = KeyCache()
    cache._listening = True
    yield cache


ROW: keycache.Row = ((1,), (2,))


def test_nothing_is_read_or_stored_while_no_listener_is_up() -> None:
    cache = KeyCache()
    cache.put("h", ROW, cache.generation)
    assert cache.get("h") is None and len(cache) == 0


def test_a_lookup_that_raced_a_change_does_not_store_its_row(listening: KeyCache) -> None:
    generation = listening.generation
    listening.clear()  # a NOTIFY heard while the lookup read the database
    listening.put("h", ROW, generation)
    assert listening.get("h") is None


def test_the_cache_is_bounded_least_recently_used_out(listening: KeyCache, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keycache, "MAX_KEYS", 3)
    for name in "abc":
        listening.put(name, ROW, listening.generation)
    assert listening.get("a") == ROW  # now the most recent
    listening.put("d", ROW, listening.generation)
    assert len(listening) == 3 and listening.get("b") is None and listening.get("a") == ROW


def test_entries_expire(listening: KeyCache, settings: Any) -> None:
    settings.LEDGER_KEY_CACHE_SECONDS = 0.05
    listening.put("h", ROW, listening.generation)
    assert listening.get("h") == ROW
    time.sleep(0.1)
    assert listening.get("h") is None


def test_a_lost_listener_empties_the_cache_and_stops_its_use(listening: KeyCache) -> None:
    listening.put("h", ROW, listening.generation)
    listening._set_listening(False)
    assert listening.get("h") is None and len(listening) == 0


def test_inside_a_transaction_the_key_is_read_from_the_table(token: str) -> None:
    warm(token)
    with transaction.atomic():
        assert KEYS.usable() is False
        ApiKey.objects.update(read_only=True)
        assert ask(token) == (200, 1)
        transaction.set_rollback(True)


def test_the_cache_can_be_turned_off(token: str, settings: Any) -> None:
    warm(token)
    settings.LEDGER_KEY_CACHE_SECONDS = 0
    assert ask(token) == (200, 1)
