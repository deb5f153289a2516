"""Reading API keys: the lookup every API request makes before anything else runs."""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Field

from access.keycache import KEYS
from access.models import ApiKey, hash_token

MAX_TOKEN_LENGTH = 200  # real tokens are 47 characters; anything far longer is not worth hashing


def api_key_for_token(*, token: str) -> ApiKey | None:
    """The active key of a token, its user joined; None if unknown, revoked or inactive.

    From this process's key cache when it may be trusted (``access.keycache``:
    emptied by NOTIFY on every key or user change), else one statement. The
    SQL is written once per process instead of compiled by the ORM per
    request: this lookup precedes every API call, and compiling it cost more
    than running it.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    digest = hash_token(token)
    cached = KEYS.usable()
    found = KEYS.get(digest) if cached else None
    key_fields, user_fields, sql = _key_query()
    if found is None:
        generation = KEYS.generation
        with connection.cursor() as cursor:
            cursor.execute(sql, [digest])
            row = cursor.fetchone()
        if row is None:
            return None
        found = (_converted(key_fields, row[: len(key_fields)]), _converted(user_fields, row[len(key_fields) :]))
        if cached:
            KEYS.put(digest, found, generation)
    key = ApiKey.from_db(connection.alias, [f.attname for f in key_fields], found[0])
    key.user = get_user_model().from_db(connection.alias, [f.attname for f in user_fields], found[1])
    return key


@functools.cache
def _key_query() -> tuple[list[Field[Any, Any]], list[Field[Any, Any]], str]:
    user_model = get_user_model()
    key_fields, user_fields = list(ApiKey._meta.concrete_fields), list(user_model._meta.concrete_fields)
    qn = connection.ops.quote_name
    columns = [f"k.{qn(str(f.column))}" for f in key_fields] + [f"u.{qn(str(f.column))}" for f in user_fields]
    user_pk = qn(str(user_model._meta.pk.column))
    sql = (
        f"SELECT {', '.join(columns)} FROM {qn(ApiKey._meta.db_table)} k "
        f"JOIN {qn(user_model._meta.db_table)} u ON u.{user_pk} = k.{qn('user_id')} "
        f"WHERE k.{qn('key_hash')} = %s AND k.{qn('revoked_at')} IS NULL AND u.{qn('is_active')}"
    )
    return key_fields, user_fields, sql


def _converted(fields: list[Field[Any, Any]], values: tuple[Any, ...]) -> tuple[Any, ...]:
    """Raw column values converted the way the ORM's compiler converts them."""
    converted = []
    for field, value in zip(fields, values, strict=True):
        column = field.get_col(field.model._meta.db_table)
        for converter in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
            value = converter(value, column, connection)
        converted.append(value)
    return tuple(converted)
