"""Keyset (cursor) pagination with the exact pageInfo of CONTRACT.md.

The cursor is an opaque encoding of (connection tag, the sort key values, pk):
the page is ``WHERE (key, pk) > cursor ORDER BY key, pk LIMIT n + 1``, so rows
inserted while a client pages are neither repeated nor skipped, and a deep page
costs what the first does (an index range scan). graphene-django's
DjangoConnectionField slices by offset and counts with COUNT(*): not used here.

Edges follow the Relay Cursor Connections algorithm (``first`` then ``last``);
``hasPreviousPage``/``hasNextPage`` are exact: the extra row answers one side,
a cheap EXISTS answers the other when it cannot be known otherwise, and only
when the client selected ``pageInfo``.

``paginate`` asks a ``Rows`` source for the rows of a ``Span`` of the list; a
plain queryset is one source (``QuerySetRows``), a nested list loaded for all
sibling owners at once is another (``core.graphql.nested.OwnedRows``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import graphene
from django.db.models import F, Model, OrderBy, Q, QuerySet
from graphene import relay

from core.graphql.errors import bad_user_input
from core.graphql.loaders import current_loaders
from core.graphql.scalars import parse_instant, text_refusal

MAX_PAGE = 100
DEFAULT_PAGE = 10

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Ordering:
    """A sort key: model fields (pk appended), one direction for all, and a tag for its cursors.

    Cursor values are checked by field name: ``*_at`` fields are instants,
    ``name`` is text, everything else (``pk``, ``sequence``) an integer.
    """

    tag: str
    fields: tuple[str, ...]
    descending: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        return (*self.fields, "pk")

    @property
    def shape(self) -> Key:
        """The ordering without its tag: equal shapes sort rows the same way."""
        return (self.fields, self.descending)

    def order_by(self, reverse: bool = False) -> list[str]:
        desc = self.descending != reverse
        return [f"-{f}" if desc else f for f in self.keys]

    def expressions(self, reverse: bool = False) -> list[OrderBy]:
        desc = self.descending != reverse
        return [F(f).desc() if desc else F(f).asc() for f in self.keys]

    def values(self, row: Any) -> list[Any]:
        return [getattr(row, f) for f in self.keys]


@dataclass(frozen=True)
class Span:
    """The rows of the list between two keys: after ``low`` and before ``high`` (either may be open)."""

    low: Key | None = None
    high: Key | None = None
    low_inclusive: bool = False
    high_inclusive: bool = False

    def q(self, ordering: Ordering) -> Q:
        condition = Q()
        if self.low is not None:
            condition &= _beyond(ordering, self.low, after=True, inclusive=self.low_inclusive)
        if self.high is not None:
            condition &= _beyond(ordering, self.high, after=False, inclusive=self.high_inclusive)
        return condition


class Rows(Protocol):
    """Where a page's rows come from."""

    def fetch(self, ordering: Ordering, span: Span, reverse: bool, limit: int) -> list[Any]:
        """The first ``limit`` rows of ``span``, in the ordering (or its reverse)."""
        ...

    def exists(self, ordering: Ordering, span: Span) -> bool: ...


@dataclass(frozen=True)
class QuerySetRows:
    queryset: QuerySet[Any]

    def fetch(self, ordering: Ordering, span: Span, reverse: bool, limit: int) -> list[Any]:
        return list(self.queryset.filter(span.q(ordering)).order_by(*ordering.order_by(reverse))[:limit])

    def exists(self, ordering: Ordering, span: Span) -> bool:
        return self.queryset.filter(span.q(ordering)).exists()


@dataclass
class Page:
    """One page: its rows, their cursors, exact flags, and the total, computed only when asked."""

    rows: list[Any]
    cursors: list[str]
    previous: Callable[[], bool] = field(repr=False)
    next: Callable[[], bool] = field(repr=False)
    total: Callable[[], int] = field(repr=False)

    @functools.cached_property
    def has_previous_page(self) -> bool:
        return self.previous()

    @functools.cached_property
    def has_next_page(self) -> bool:
        return self.next()

    @property
    def edges(self) -> list[dict[str, Any]]:
        return [{"node": row, "cursor": cursor} for row, cursor in zip(self.rows, self.cursors, strict=True)]

    @property
    def page_info(self) -> Page:
        return self

    @property
    def start_cursor(self) -> str | None:
        return self.cursors[0] if self.cursors else None

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


class KeysetConnection(graphene.ObjectType):
    """Fields every connection shares; a concrete one adds ``edges`` of its node type."""

    class Meta:
        abstract = True

    page_info = graphene.NonNull(relay.PageInfo)
    total_count = graphene.NonNull(
        graphene.Int, description="All items matching the filters, ignoring first/after/last/before."
    )

    @staticmethod
    def resolve_total_count(page: Page, info: graphene.ResolveInfo) -> int:
        return page.total()


def edges_of(edge: type[graphene.ObjectType]) -> graphene.NonNull:
    return graphene.NonNull(graphene.List(graphene.NonNull(edge)))


# --- cursors ------------------------------------------------------------------------------


def encode_cursor(ordering: Ordering, values: Sequence[Any]) -> str:
    encoded = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps([ordering.tag, encoded], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(ordering: Ordering, cursor: str, argument: str) -> Key:
    """The sort key behind ``cursor``; a GraphQL error naming ``argument`` when it is not one of ours."""
    try:
        tag, values = json.loads(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, TypeError, UnicodeError, binascii.Error):
        raise bad_user_input(f"`{argument}` is not a valid cursor.", argument) from None
    if tag != ordering.tag or not isinstance(values, list) or len(values) != len(ordering.keys):
        raise bad_user_input(f"`{argument}` is a cursor of another connection or order.", argument)
    try:
        return tuple(_cursor_value(name, value) for name, value in zip(ordering.keys, values, strict=True))
    except (ValueError, TypeError, OverflowError):
        raise bad_user_input(f"`{argument}` is not a valid cursor.", argument) from None


def _cursor_value(name: str, value: Any) -> Any:
    # A cursor is client input too: its values obey the rules of the scalars they stand for.
    if name.endswith("_at"):
        return parse_instant(value)  # ValueError, or OverflowError (an ArithmeticError) out of range
    if name == "name":
        if not isinstance(value, str) or text_refusal(value) is not None:
            raise TypeError(name)
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(name)
    return value


def _beyond(ordering: Ordering, values: Sequence[Any], after: bool, inclusive: bool = False) -> Q:
    """Rows strictly after (or before) ``values`` in the ordering; ``inclusive`` adds the row itself."""
    forward = after != ordering.descending
    op = "gt" if forward else "lt"
    condition = Q()
    for i, name in enumerate(ordering.keys):
        step = Q(**dict(zip(ordering.keys[:i], values[:i], strict=True)))
        step &= Q(**{f"{name}__{op}": values[i]})
        condition |= step
    if inclusive:
        condition |= Q(**dict(zip(ordering.keys, values, strict=True)))
    # Redundant but decisive: a plain range on the leading key lets the database walk the
    # (key, pk) index from the cursor instead of filtering the OR over every row before it.
    bound = Q(**{f"{ordering.keys[0]}__{'gte' if forward else 'lte'}": values[0]})
    return bound & condition


# --- pages --------------------------------------------------------------------------------


def check_page_size(value: int | None, argument: str) -> None:
    if value is not None and not 0 <= value <= MAX_PAGE:
        raise bad_user_input(f"`{argument}` must be between 0 and {MAX_PAGE}.", argument)


def paginate(
    rows: Rows | QuerySet[Any],
    ordering: Ordering,
    *,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
    total: Callable[[], int],
) -> Page:
    """The page CONTRACT.md defines for these arguments (see module docstring)."""
    source: Rows = QuerySetRows(rows) if isinstance(rows, QuerySet) else rows
    check_page_size(first, "first")
    check_page_size(last, "last")
    if first is None and last is None:
        first = DEFAULT_PAGE
    after_key = decode_cursor(ordering, after, "after") if after is not None else None
    before_key = decode_cursor(ordering, before, "before") if before is not None else None
    window = Span(low=after_key, high=before_key)

    def before_start() -> bool:  # some row of L before W's start (the `after` row and before it)
        return after_key is not None and source.exists(ordering, Span(high=after_key, high_inclusive=True))

    def after_end() -> bool:  # some row of L after W's end (the `before` row and after it)
        return before_key is not None and source.exists(ordering, Span(low=before_key, low_inclusive=True))

    def from_start() -> bool:  # some row of L at or after W's start
        return source.exists(ordering, Span(low=after_key))

    # The flags are thunks: a client that does not ask for pageInfo pays no EXISTS.
    edges: list[Model]
    has_previous: Callable[[], bool]
    has_next: Callable[[], bool]
    if first is not None:
        fetched = source.fetch(ordering, window, False, first + 1)
        prefix, more_in_window = fetched[:first], len(fetched) > first
        edges = prefix if last is None else (prefix[max(0, len(prefix) - last) :] if last else [])
        if edges:
            cut_by_last = edges[0] is not prefix[0]
            has_previous = lambda: cut_by_last or before_start()  # noqa: E731
            has_next = lambda: more_in_window or after_end()  # noqa: E731
        elif first == 0 or not prefix:  # E is empty at W's start
            has_previous, has_next = before_start, from_start
        else:  # `last: 0` cut at the end of W's first `first` rows
            has_previous, has_next = _true, lambda: more_in_window or after_end()
    else:
        assert last is not None
        fetched = source.fetch(ordering, window, True, last + 1)
        edges, more_in_window = list(reversed(fetched[:last])), len(fetched) > last
        if edges:
            has_previous, has_next = (lambda: more_in_window or before_start()), after_end
        elif fetched:  # `last: 0` on a non-empty W: E is empty at W's end
            has_previous, has_next = _true, after_end
        else:  # W is empty: its start
            has_previous, has_next = before_start, from_start
    current_loaders().register(edges)
    cursors = [encode_cursor(ordering, ordering.values(row)) for row in edges]
    return Page(edges, cursors, has_previous, has_next, total)


def _true() -> bool:
    return True
