"""Per-execution batching: a field asked of one object is loaded for all its siblings at once.

graphene 3 has no promises, so a classic DataLoader cannot defer a load until a
whole level of the response is known. A synchronous executor gives us another
handle: a list is resolved before any of its items' fields. So every list a
resolver returns is *registered* as a group of siblings; when the first item
asks for a relation (``sender``, ``entries``...) or a nested page, the load runs
once for the whole group and the other items read the result. The related
objects found are registered as a group in turn, so each level of nesting costs
a constant number of statements, whatever the page sizes.

The store lives for one execution only (``core.graphql.execution`` binds a new
one per operation), is reached through a ContextVar (one value per thread), and
is never shared between requests. Outside an execution, ``current_loaders()``
hands out a throwaway store: everything still resolves, just without batching.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Manager, Model, Prefetch, QuerySet, prefetch_related_objects

T = TypeVar("T")
M = TypeVar("M", bound=Model)

_current: ContextVar[Loaders | None] = ContextVar("ledger_graphql_loaders", default=None)


class Loaders:
    """Sibling groups and the batched results computed for them, for one execution."""

    def __init__(self) -> None:
        # id(object) -> its group. The groups hold their objects, so an id is never reused here.
        self._groups: dict[int, list[Any]] = {}
        self._results: dict[tuple[int, Hashable], Any] = {}

    def register(self, rows: Iterable[T]) -> list[T]:
        """Makes ``rows`` one group of siblings (an object keeps the first group it joined)."""
        group = list(rows)
        for row in group:
            self._groups.setdefault(id(row), group)
        return group

    def siblings(self, obj: T) -> list[T]:
        group = self._groups.get(id(obj))
        return group if group is not None else self.register([obj])

    def load(self, obj: Any, key: Hashable, batch: Callable[[list[Any]], T]) -> T:
        """``batch(siblings of obj)``, computed once per group and ``key``."""
        group = self.siblings(obj)
        token = (id(group), key)
        if token not in self._results:
            self._results[token] = batch(group)
        return self._results[token]

    def related(self, obj: Model, attr: str, queryset: QuerySet[Any] | None = None) -> Any:
        """``obj.<attr>`` (an object, None, or a list), fetched for every sibling in one statement.

        Relations already cached (``select_related``) cost nothing: Django's
        ``prefetch_related_objects`` skips the objects that hold them.
        """

        def fetch(group: list[Model]) -> None:
            prefetch_related_objects(group, Prefetch(attr, queryset=queryset))
            found: list[Model] = []
            for sibling in group:
                value = _read(sibling, attr)
                found.extend(value if isinstance(value, list) else [value] if value is not None else [])
            self.register(found)

        self.load(obj, ("related", attr), fetch)
        return _read(obj, attr)


def _read(obj: Model, attr: str) -> Any:
    try:
        value = getattr(obj, attr)
    except ObjectDoesNotExist:  # a reverse one-to-one with no row
        return None
    return list(value.all()) if isinstance(value, Manager) else value


def register_for_loading(*objects: T | None) -> list[T | None]:
    """``objects`` (a mutation's payload rows; None where there is none) as one group of siblings.

    Their relations (``sender``, ``entries``...) then load together, as a
    page's do; returns them as given, so a payload can be built from it.
    """
    current_loaders().register(obj for obj in objects if obj is not None)
    return list(objects)


def current_loaders() -> Loaders:
    """The store of the running execution (a throwaway one outside any)."""
    loaders = _current.get()
    return loaders if loaders is not None else Loaders()


@contextmanager
def bound_loaders() -> Iterator[Loaders]:
    """A fresh store for the duration of one execution."""
    loaders = Loaders()
    token = _current.set(loaders)
    try:
        yield loaders
    finally:
        _current.reset(token)
