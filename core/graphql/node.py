"""Global IDs, who may view each object type, and Relay's ``node``/``nodes`` lookups.

The view rule is declared here, beside the types, and enforced in one place,
``core.graphql.execution.LedgerExecutionContext``, wherever an object appears:

- an object type declares ``view_permission``: its objects come back only to a
  caller holding it (``Account``: ``accounts.view_account``);
- a field may need more than its type's: ``restrict_fields(AccountType,
  "transactions.view_transaction", "balanceAt", ...)``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Protocol

import graphene
from graphql import GraphQLError, GraphQLObjectType
from graphql_relay import from_global_id, to_global_id

from core.graphql.errors import forbidden
from core.graphql.loaders import current_loaders
from core.permissions import has_permission


def decode_id(global_id: Any, type_name: str) -> int | None:
    """The pk behind a global ID of ``type_name``; None when malformed or of another type."""
    kind, pk = parse_id(global_id)
    return pk if kind == type_name else None


def parse_id(global_id: Any) -> tuple[str | None, int | None]:
    """(type name, pk) of a well-formed global ID; (None, None) otherwise."""
    if not isinstance(global_id, str):
        return None, None
    # Cached: a batch of 1,000 names each of its accounts several times. Only text of an ID's length is
    # kept (ours are under 50 characters), so the cache's memory is bounded whatever a client sends.
    return _cached_parse(global_id) if len(global_id) <= _CACHED_ID_LENGTH else _parse_text_id(global_id)


_CACHED_ID_LENGTH = 64


def _parse_text_id(global_id: str) -> tuple[str | None, int | None]:
    try:
        kind, raw = from_global_id(global_id)
        pk = int(raw)
    except (ValueError, TypeError, UnicodeError):
        return None, None
    if str(pk) != raw or pk < 0:  # one spelling per object: no "+1", "01" or " 1"
        return None, None
    return kind, pk


_cached_parse = functools.lru_cache(maxsize=4096)(_parse_text_id)


def global_id(type_name: str, pk: int) -> str:
    return to_global_id(type_name, str(pk))


def view_permission(object_type: GraphQLObjectType | type) -> str | None:
    """The permission that reads objects of this type (its ``view_permission``); None for wrappers."""
    graphene_type = getattr(object_type, "graphene_type", object_type)
    permission = getattr(graphene_type, "view_permission", None)
    return permission if isinstance(permission, str) else None


def field_permissions(object_type: GraphQLObjectType | type) -> dict[str, str]:
    """The fields (by GraphQL name) that need a permission of their own, besides their type's."""
    graphene_type = getattr(object_type, "graphene_type", object_type)
    rules: dict[str, str] = {}
    for klass in reversed(getattr(graphene_type, "__mro__", ())):  # a root type merges its bases' rules
        rules.update(vars(klass).get("field_permissions", {}))
    return rules


def restrict_fields(object_type: type[graphene.ObjectType], permission: str, *names: str) -> None:
    """Declares that the fields ``names`` (GraphQL spelling) of ``object_type`` need ``permission``.

    For fields one app adds to another's type (``Account.balanceAt`` reads
    entries): the rule lives with the fields, the check in the execution.
    """
    rules = dict(vars(object_type).get("field_permissions", {}))
    rules.update(dict.fromkeys(names, permission))
    object_type.field_permissions = rules


class NodeType(Protocol):
    @classmethod
    def get_nodes(cls, pks: set[int]) -> Sequence[Any]:
        """The objects with these pks, in one statement."""
        ...


class NodeRegistry:
    """The types ``node``/``nodes`` resolve, each with the permission that reads it.

    Unknown, malformed or wrong-type IDs answer null, never an error
    (CONTRACT.md, IDs). A well-formed ID of a type the caller may not read
    answers FORBIDDEN, like the type's own query field (for ``nodes``, on
    that item only), before any row is loaded; the execution refuses such an
    object anyway. ``nodes`` loads each type with one ``IN`` query.
    """

    def __init__(self, types: dict[str, tuple[type[NodeType], str]]) -> None:
        for name, (node_type, perm) in types.items():
            if view_permission(node_type) != perm:  # one rule: the registry repeats the type's, never another
                raise ValueError(f"{name}: the registry says {perm}, the type {view_permission(node_type)}")
        self.types = types

    def resolve_many(self, info: graphene.ResolveInfo, ids: Sequence[Any]) -> list[Any]:
        parsed = [parse_id(raw) for raw in ids]
        allowed = {name: has_permission(info.context, perm) for name, (_, perm) in self.types.items()}
        wanted: dict[str, set[int]] = {}
        for kind, pk in parsed:
            if kind in self.types and pk is not None and allowed[kind]:
                wanted.setdefault(kind, set()).add(pk)
        found: dict[tuple[str, int], Any] = {}
        for kind, pks in wanted.items():
            rows = current_loaders().register(self.types[kind][0].get_nodes(pks))
            found.update(((kind, row.pk), row) for row in rows)
        answers: list[Any] = []
        for kind, pk in parsed:
            if kind in self.types and pk is not None and not allowed[kind]:
                answers.append(forbidden())
            else:
                answers.append(found.get((kind, pk)) if kind is not None and pk is not None else None)
        return answers

    def resolve(self, info: graphene.ResolveInfo, raw: Any) -> Any:
        (answer,) = self.resolve_many(info, [raw])
        if isinstance(answer, GraphQLError):
            raise answer
        return answer
