"""Adding fields to a type from the app that owns their data.

``Account.transactions``, ``Account.entries`` and ``Account.balanceAt`` read
transactions and entries, so ``transactions.schema`` adds them to the Account
type: ``accounts`` keeps importing nothing from ``transactions`` (imports run
one way, DESIGN.md). graphene reads a type's fields when the schema is built,
so fields added at import time, before that, are part of it.
"""

from __future__ import annotations

import graphene


def extend_object_type(object_type: type[graphene.ObjectType], **fields: graphene.Field) -> None:
    for name, field in fields.items():
        if name in object_type._meta.fields:
            raise ValueError(f"{object_type.__name__}.{name} is already defined")
        object_type._meta.fields[name] = field
