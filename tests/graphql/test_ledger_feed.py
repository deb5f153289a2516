"""Query.ledgerFeed: every posted entry exactly once, in an order no late commit can land behind (records.md)."""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction

from accounts.models import Account
from core.graphql.node import decode_id
from tests.factories import make_account
from tests.graphql.conftest import Gql, user_with
from transactions.models import Entry
from transactions.services import TransferSpec, transfer_create

FEED = """query($first: Int, $after: String) { ledgerFeed(first: $first, after: $after) {
  edges { cursor node { id sequence amount account { id } } } pageInfo { hasNextPage endCursor } } }"""


def read_all(gql: Gql, after: str | None = None, first: int = 100) -> tuple[list[str], str | None]:
    """Pages until an empty page; the entry IDs read and the cursor to keep."""
    seen: list[str] = []
    while True:
        page = gql(FEED, first=first, after=after)["ledgerFeed"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["edges"]:
            assert page["pageInfo"] == {"hasNextPage": False, "endCursor": None}
            return seen, after
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]


# Committed rows (transaction=True): the feed shows only entries whose database transaction has finished,
# and a test wrapped in one transaction would never finish its own.
LIVE = pytest.mark.django_db(transaction=connection.vendor == "postgresql")  # SQLite: its one writer is done


def caught_up(gql: Gql, after: str | None, expected: int, first: int = 100) -> tuple[list[str], str | None]:
    """``read_all`` until ``expected`` entries arrived: the feed waits for every older transaction of the
    PostgreSQL cluster (other databases' too) to finish, which a busy shared server may take a moment to do."""
    seen: list[str] = []
    deadline = time.monotonic() + 300
    while True:
        more, after = read_all(gql, after, first)
        seen += more
        if len(seen) >= expected or time.monotonic() > deadline:
            return seen, after
        time.sleep(0.01)


@LIVE
def test_the_feed_pages_every_entry_once_and_an_empty_page_keeps_the_cursor(gql: Gql, settlement: Account) -> None:
    alice, bob = make_account(10_000), make_account(10_000)
    for amount in range(1, 6):
        transfer_create(spec=TransferSpec(alice.pk, bob.pk, amount, "PIX"))
    seen, cursor = caught_up(gql, None, 14, first=3)
    assert len(seen) == len(set(seen)) == Entry.objects.count() == 14
    assert read_all(gql, after=cursor) == ([], cursor)  # nothing new: the same `after` again
    transfer_create(spec=TransferSpec(bob.pk, alice.pk, 7, "PIX"))
    more, cursor = caught_up(gql, cursor, 2)
    assert len(more) == 2 and not set(more) & set(seen)


@LIVE
def test_the_feed_needs_view_transaction(gql_as: Any, settlement: Account) -> None:
    make_account(1_000)
    errors = gql_as("accounts.view_account").errors("{ ledgerFeed { edges { cursor } } }")
    assert [error["extensions"]["code"] for error in errors] == ["FORBIDDEN"]
    assert len(caught_up(gql_as("transactions.view_transaction", "accounts.view_account"), None, 2)[0]) == 2


@pytest.mark.django_db
def test_the_feed_refuses_a_cursor_of_another_list_and_bad_page_sizes(gql: Gql, settlement: Account) -> None:
    make_account(1_000)
    other = gql("{ transactions(first: 1) { edges { cursor } } }")["transactions"]["edges"][0]["cursor"]
    for variables in ({"after": other}, {"first": 101}, {"first": -1}, {"after": "bm9wZQ=="}):
        errors = gql.errors(FEED, **variables)
        assert [error["extensions"]["code"] for error in errors] == ["BAD_USER_INPUT"]


# --- The proof: concurrent writers, late commits, a consumer polling meanwhile ---------------------------

WRITERS = 8
TRANSFERS_PER_WRITER = 40


def write(accounts: list[Account], seed: int, failures: list[BaseException]) -> None:
    """One writer: transfers each held open a random while after posting, so later ids commit first."""
    rng = random.Random(seed)
    try:
        for _ in range(TRANSFERS_PER_WRITER):
            sender, receiver = rng.sample(accounts, 2)
            with transaction.atomic():
                transfer_create(spec=TransferSpec(sender.pk, receiver.pk, rng.randint(1, 500), "PIX"))
                time.sleep(rng.random() * 0.02)
    except BaseException as error:
        failures.append(error)
    finally:
        connection.close()


def consume(reader: Gql, expected: int, done: threading.Event, received: list[str], failures: list) -> None:
    """The consumer: polls, keeping only endCursor; after the writers, polls on until all arrived (or 300 s)."""
    after, deadline = None, None
    try:
        while True:
            page = reader(FEED, first=100, after=after)["ledgerFeed"]
            received.extend(edge["node"]["id"] for edge in page["edges"])
            if page["edges"]:
                after = page["pageInfo"]["endCursor"]
                continue
            if done.is_set():
                deadline = deadline or time.monotonic() + 300
                if len(received) >= expected or time.monotonic() > deadline:
                    return  # an empty page after everything arrived: nothing more, nothing twice
            time.sleep(0.005)
    except BaseException as error:
        failures.append(error)
    finally:
        connection.close()


@pytest.mark.postgres_only
@pytest.mark.usefixtures("live_db")
def test_a_polling_consumer_gets_every_entry_exactly_once_while_writers_commit_late() -> None:
    """8 writers hold their transactions open a random while after posting (so ids commit out of order);
    a consumer polls the feed throughout, keeping only endCursor. At the end it holds every entry once."""
    accounts = [make_account(10_000_000) for _ in range(16)]
    reader = Gql(user_with("transactions.view_transaction", "accounts.view_account"))
    before = set(Entry.objects.values_list("pk", flat=True))
    expected = len(before) + WRITERS * TRANSFERS_PER_WRITER * 2
    done, failures, received = threading.Event(), [], []  # type: ignore[var-annotated]
    threads = [threading.Thread(target=write, args=(accounts, seed, failures)) for seed in range(WRITERS)]
    polling = threading.Thread(target=consume, args=(reader, expected, done, received, failures))
    polling.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    polling.join(timeout=600)
    assert not failures, failures

    written = set(Entry.objects.values_list("pk", flat=True)) - before
    got = [decode_id(entry, "Entry") for entry in received]
    new = [pk for pk in got if pk not in before]
    duplicates = len(new) - len(set(new))
    missing = len(written - set(new))
    report = f"writers={WRITERS} entries={len(written)} received={len(new)} duplicates={duplicates} missing={missing}"
    if os.environ.get("LEDGER_FEED_REPORT"):
        with open(os.environ["LEDGER_FEED_REPORT"], "a", encoding="utf-8") as file:
            file.write(report + "\n")
    assert len(written) == WRITERS * TRANSFERS_PER_WRITER * 2, report
    assert (duplicates, missing) == (0, 0), report
    assert len(got) == len(set(got)), report  # the entries from before the test, once each too
