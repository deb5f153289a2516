"""timestamptz values are read by psycopg's C loader (core.timestamps), exactly as Django's loader read them."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader

from core.timestamps import UtcTimestamptzLoader
from tests.factories import make_account

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db]

OID = 1184  # timestamptz

INSTANTS = [
    "2026-12-04 03:50:45.533566+00",
    "2026-12-04 03:50:45+00",
    "1969-12-31 23:59:59.999999+00",
    "2000-02-29 12:00:00.000001+00",
    "9999-12-31 23:59:59.999999+00",
    "0001-01-01 00:00:00+00",
]


def test_every_connection_reads_timestamptz_with_psycopg_s_c_loader() -> None:
    connection.ensure_connection()
    registered = connection.connection.adapters.get_loader(OID, Format.TEXT)
    assert registered is UtcTimestamptzLoader
    loader = registered(OID, connection.connection)
    # Not Django's pure-Python loader (6.3 us a value here, against 0.2 us): psycopg's own class.
    assert not isinstance(loader, TimestamptzLoader | BaseTzLoader), type(loader)


def test_the_values_and_their_tzinfo_are_the_ones_django_s_loader_gives() -> None:
    connection.ensure_connection()

    class DjangoLoader(BaseTzLoader):
        timezone = datetime.UTC

    ours, django = UtcTimestamptzLoader(OID, connection.connection), DjangoLoader(OID, connection.connection)
    for text in INSTANTS:
        mine, theirs = ours.load(text.encode()), django.load(text.encode())
        assert mine == theirs and mine.tzinfo is datetime.UTC and mine.isoformat() == theirs.isoformat(), text


def test_a_row_read_back_through_the_orm_is_the_instant_written() -> None:
    account = make_account(100)
    written = datetime.datetime(2031, 7, 9, 23, 59, 58, 123456, tzinfo=datetime.UTC)
    type(account).objects.filter(pk=account.pk).update(updated_at=written)
    read = type(account).objects.values_list("updated_at", flat=True).get(pk=account.pk)
    assert read == written and read.tzinfo is datetime.UTC
    with connection.cursor() as cursor:  # a cursor made by Django's factory: it keeps our loader
        cursor.execute("SELECT %s::timestamptz AT TIME ZONE 'UTC', %s::timestamptz", [written, written])
        naive, aware = cursor.fetchone()
    assert aware == written and aware.tzinfo is datetime.UTC and naive == written.replace(tzinfo=None)
