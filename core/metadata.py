"""Metadata: the labels a client attaches to an account or a transaction (its own reference, a PIX end-to-end ID).

Stored as a JSON list of ``{"key": ..., "value": ...}`` objects, in the
client's order, or NULL for none (a nullable column is added without
rebuilding a SQLite table, which would drop its triggers). One rule for every
door (``check_metadata``) and one filter for every list (``with_metadata``):
on PostgreSQL a JSONB containment (``@>``) that the table's GIN index serves;
SQLite scans, with ``json_each``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from core.errors import ErrorCode, LedgerError

MAX_ENTRIES = 20
MAX_VALUE = 500
KEY = re.compile(r"[A-Za-z0-9_.\-]{1,40}")

Pairs = tuple[tuple[str, str], ...]


def metadata_pairs(entries: Iterable[Any] | None) -> Pairs | None:
    """The API's ``[MetadataEntryInput!]`` (or stored entries) as (key, value) pairs; None stays None."""
    if entries is None:
        return None
    pairs = []
    for entry in entries:
        if isinstance(entry, Mapping):
            pairs.append((entry["key"], entry["value"]))
        else:
            pairs.append((entry.key, entry.value))
    return tuple(pairs)


def check_metadata(pairs: Pairs, field: str = "metadata") -> list[dict[str, str]] | None:
    """The stored form of ``pairs`` (None for none), or INVALID_INPUT on ``field``.

    At most 20 entries; a key is 1 to 40 characters of ``A-Z a-z 0-9 _ . -``;
    a value at most 500 characters; no key twice.
    """
    if len(pairs) > MAX_ENTRIES:
        raise LedgerError(ErrorCode.INVALID_INPUT, f"Metadata holds at most {MAX_ENTRIES} entries.", field)
    seen: set[str] = set()
    for key, value in pairs:
        if not isinstance(key, str) or not KEY.fullmatch(key):
            raise LedgerError(
                ErrorCode.INVALID_INPUT, "A metadata key is 1 to 40 characters of A-Z a-z 0-9 _ . -", field
            )
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise LedgerError(ErrorCode.INVALID_INPUT, f"A metadata value has at most {MAX_VALUE} characters.", field)
        if key in seen:
            raise LedgerError(ErrorCode.INVALID_INPUT, f"The metadata key {key!r} is given twice.", field)
        seen.add(key)
    return [{"key": key, "value": value} for key, value in pairs] or None


def entries_of(stored: Any) -> list[dict[str, str]]:
    """What the API shows of a stored value: the entries in their order, [] for none."""
    return list(stored or [])


def with_metadata(queryset: QuerySet[Any], pairs: Pairs | None) -> QuerySet[Any]:
    """The rows of ``queryset`` whose metadata holds every (key, value) of ``pairs``."""
    if not pairs:
        return queryset
    if connection.vendor == "postgresql":
        return queryset.filter(metadata__contains=[{"key": key, "value": value} for key, value in pairs])
    table = queryset.model._meta.db_table
    found = (
        f"EXISTS (SELECT 1 FROM json_each({table}.metadata) AS m "
        "WHERE json_extract(m.value, '$.key') = %s AND json_extract(m.value, '$.value') = %s)"
    )
    for key, value in pairs:
        queryset = queryset.extra(where=[found], params=[key, value])  # the values travel as parameters
    return queryset
