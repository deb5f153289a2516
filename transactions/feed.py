"""The commit-ordered feed of posted entries (``Query.ledgerFeed``): every entry exactly once, never behind a cursor.

A consumer that pages by entry id skips rows: ids are drawn when a
transaction inserts, not when it commits, so a transaction that commits late
lands behind a cursor that already passed its ids. The feed is ordered by
``(commit_xid, id)`` instead, where ``commit_xid`` is the id of the database
transaction that wrote the entry (a column PostgreSQL fills with
``pg_current_xact_id()``, transactions/0006), and it shows only the entries
whose transaction is older than the oldest transaction still in flight
(``commit_xid < pg_snapshot_xmin(pg_current_snapshot())``): those have all
committed or rolled back. Every entry that becomes visible later belongs to a
transaction at or above that horizon, so it sorts after everything already
shown, and a cursor never has to go back. (The order is the order in which
the writing transactions began, consistent with commit order in this sense:
nothing that commits after a read lands before what that read returned.)

SQLite has one writer at a time, and a writer's ids are committed before the
next writer draws any: the id alone is the order there (``commit_xid`` reads 0).
The page is one statement on either database, walking the ``(commit_xid, id)``
index from the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from core.graphql.connection import DEFAULT_PAGE, Ordering, Page, Span, check_page_size, decode_cursor, encode_cursor
from core.graphql.loaders import current_loaders
from transactions.models import Entry

FEED = Ordering("ledger-feed", ("feed_xid",))
_TABLE = Entry._meta.db_table


def _visible() -> tuple[str, str]:
    """(the column that orders, the condition that keeps only finished transactions' rows) on this database."""
    if connection.vendor == "postgresql":
        return "e.commit_xid", "e.commit_xid < pg_snapshot_xmin(pg_current_snapshot())"
    return "0", "1 = 1"


def _bound(key: Sequence[Any], operator: str) -> tuple[str, list[Any]]:
    column, _ = _visible()
    if connection.vendor == "postgresql":
        return f"({column}, e.id) {operator} (CAST(%s AS xid8), %s)", [str(key[0]), key[1]]
    return f"e.id {operator} %s", [key[1]]


def _where(span: Span) -> tuple[str, list[Any]]:
    _, visible = _visible()
    parts, params = [visible], []
    if span.low is not None:
        sql, values = _bound(span.low, ">=" if span.low_inclusive else ">")
        parts.append(sql)
        params += values
    if span.high is not None:
        sql, values = _bound(span.high, "<=" if span.high_inclusive else "<")
        parts.append(sql)
        params += values
    return " AND ".join(parts), params


def feed_page(first: int | None = None, after: str | None = None) -> Page:
    """One page, from one statement: its extra row answers hasNextPage at the same instant as the rows.

    (A later EXISTS could see rows that became visible since, and call an
    empty page's next page non-empty.) ``hasPreviousPage`` is whether ``after``
    was given: the entry it names is in the feed, and entries are never removed.
    """
    check_page_size(first, "first")
    size = DEFAULT_PAGE if first is None else first
    after_key = decode_cursor(FEED, after, "after") if after is not None else None
    rows = FeedRows()
    fetched = rows.fetch(FEED, Span(low=after_key), False, size + 1)
    edges = current_loaders().register(fetched[:size])
    more = len(fetched) > size
    cursors = [encode_cursor(FEED, FEED.values(row)) for row in edges]
    return Page(edges, cursors, lambda: after is not None, lambda: more, rows.count)


@dataclass(frozen=True)
class FeedRows:
    """The feed as a ``core.graphql.connection.Rows`` source: forward pages and the EXISTS of pageInfo."""

    def fetch(self, ordering: Ordering, span: Span, reverse: bool, limit: int) -> list[Entry]:
        column, _ = _visible()
        where, params = _where(span)
        direction = "DESC" if reverse else "ASC"
        keys = ("e.commit_xid", "e.id") if connection.vendor == "postgresql" else ("e.id",)
        order = ", ".join(f"{key} {direction}" for key in keys)
        rows = list(
            Entry.objects.raw(
                f"SELECT e.*, CAST({column} AS text) AS feed_xid FROM {_TABLE} e WHERE {where} "
                f"ORDER BY {order} LIMIT %s",
                [*params, limit],
            )
        )
        for row in rows:
            row.feed_xid = int(row.feed_xid)  # type: ignore[attr-defined]
        return rows

    def exists(self, ordering: Ordering, span: Span) -> bool:
        where, params = _where(span)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {_TABLE} e WHERE {where})", params)
            (found,) = cursor.fetchone()
        return bool(found)

    def count(self) -> int:
        """How many entries the feed shows now (a count of the visible rows: asked only with totalCount)."""
        _, visible = _visible()
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {_TABLE} e WHERE {visible}")
            (total,) = cursor.fetchone()
        return int(total)
