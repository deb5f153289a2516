"""Nested connections (``Account.transactions``, ``Account.entries``) loaded for all sibling owners at once.

A page of 20 accounts each asking for ``transactions(first: 10)`` must not cost
20 queries. ``OwnedRows`` is the ``Rows`` source of one owner's list: the first
owner of a sibling group (``core.graphql.loaders``) to ask for a span loads it
for every owner of the group with one windowed statement per owner field,
``ROW_NUMBER() OVER (PARTITION BY owner ORDER BY key, pk)`` kept to the first
``limit`` rows of each partition, and the others read the result. A list owned
through two fields (a transaction's sender or receiver) is read side by side and
merged per owner. A group of one owner takes the plain ``LIMIT`` query, which
walks the index from the cursor (deep pages stay cheap).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, QuerySet, Window
from django.db.models.functions import RowNumber

from core.graphql.connection import Ordering, Span
from core.graphql.loaders import current_loaders


@dataclass(frozen=True)
class OwnedRows:
    """The rows of ``queryset`` owned by ``owner`` through any of ``owner_fields``.

    ``key`` names the list and its filters: owners asking with equal keys share
    one load. The queryset must not be filtered by owner already.
    """

    owner: Any
    queryset: QuerySet[Any]
    owner_fields: tuple[str, ...]
    key: Hashable

    def fetch(self, ordering: Ordering, span: Span, reverse: bool, limit: int) -> list[Any]:
        def batch(group: list[Any]) -> dict[int, list[Any]]:
            owners = sorted({o.pk for o in group})
            found: dict[int, list[Any]] = {pk: [] for pk in owners}
            for side in self.owner_fields:
                rows = self.queryset.filter(span.q(ordering))
                if len(owners) == 1:
                    rows = rows.filter(**{side: owners[0]}).order_by(*ordering.order_by(reverse))[:limit]
                    found[owners[0]].extend(rows)
                    continue
                ranked = (
                    rows.filter(**{f"{side}__in": owners})
                    .annotate(
                        ledger_owner=F(side),
                        ledger_rank=Window(RowNumber(), partition_by=[F(side)], order_by=ordering.expressions(reverse)),
                    )
                    .filter(ledger_rank__lte=limit)
                    .order_by(side, *ordering.order_by(reverse))
                )
                for row in ranked:
                    found[row.ledger_owner].append(row)
            if len(self.owner_fields) > 1:  # merge the sides: each is sorted, their union is not
                descending = ordering.descending != reverse
                for rows_of_owner in found.values():
                    rows_of_owner.sort(key=ordering.values, reverse=descending)
                    del rows_of_owner[limit:]
            return found

        shape = (self.key, "fetch", ordering.shape, span, reverse, limit)
        return current_loaders().load(self.owner, shape, batch).get(self.owner.pk, [])

    def exists(self, ordering: Ordering, span: Span) -> bool:
        def batch(group: list[Any]) -> set[int]:
            owners = sorted({o.pk for o in group})
            found: set[int] = set()
            for side in self.owner_fields:
                rows = self.queryset.filter(span.q(ordering)).filter(**{f"{side}__in": owners})
                found.update(rows.order_by().values_list(side, flat=True).distinct())
            return found

        return self.owner.pk in current_loaders().load(self.owner, (self.key, "exists", ordering.shape, span), batch)

    def count(self) -> int:
        """How many rows the owner has, counted for the whole group with one GROUP BY per owner field."""

        def batch(group: list[Any]) -> dict[int, int]:
            owners = sorted({o.pk for o in group})
            totals = dict.fromkeys(owners, 0)
            for side in self.owner_fields:
                counted = (
                    self.queryset.filter(**{f"{side}__in": owners})
                    .order_by()
                    .values(side)
                    .annotate(ledger_count=Count("pk"))
                    .values_list(side, "ledger_count")
                )
                for pk, number in counted:
                    totals[pk] += number  # a row has one owner per side (sender <> receiver)
            return totals

        return current_loaders().load(self.owner, (self.key, "count"), batch).get(self.owner.pk, 0)
