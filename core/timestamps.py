"""``timestamptz`` values read by psycopg's C loader instead of Django's Python one.

Django 5.2 registers, on every PostgreSQL connection, a Python subclass of
psycopg's ``TimestamptzLoader`` whose only change is to set each value's tzinfo
to the connection's time zone. Being a subclass of the pure-Python class, it
also replaces the C loader that psycopg's binary package installs: measured here,
6.3 us per value against 0.2 us (``bench/RESULTS.md``, lever 8). A 50-row page with
both parties reads ~300 timestamps, a batch of 1,000 locks ~900 accounts with
three each: a quarter of a page's instructions went to this.

With ``USE_TZ`` Django keeps every session in UTC (``SET TIME ZONE`` on connect),
and the C loader returns aware values in the session's zone, as
``datetime.timezone.utc``: the same values, the same tzinfo, as Django's loader.
Where that does not hold (another connection time zone) Django's loader stays.
"""

from __future__ import annotations

import datetime
from typing import Any

import psycopg
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader

TIMESTAMPTZ = "timestamptz"

# psycopg's default: the C class when its binary package is installed (requirements.txt pins it).
_C_LOADER: type[Any] = (
    psycopg.adapters.get_loader(psycopg.postgres.types[TIMESTAMPTZ].oid, Format.TEXT) or TimestamptzLoader
)


class UtcTimestamptzLoader:
    """Makes psycopg's own (C) loader; a class psycopg's adapters map and Django's cursor factory can read.

    The C class cannot be subclassed, and Django's ``DatabaseWrapper.create_cursor``
    reads the registered loader's ``timezone``: equal to the connection's, it does not
    register its own loader again on each cursor. So this class carries the two
    attributes and hands out the C loader's instances.
    """

    format = Format.TEXT
    timezone = datetime.UTC

    def __new__(cls, oid: int, context: Any = None) -> Any:
        return _C_LOADER(oid, context)


def use_c_timestamptz_loader(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: PostgreSQL connections in UTC read timestamptz with psycopg's loader."""
    if connection.vendor != "postgresql" or connection.timezone is not datetime.UTC:
        return
    connection.connection.adapters.register_loader(TIMESTAMPTZ, UtcTimestamptzLoader)
