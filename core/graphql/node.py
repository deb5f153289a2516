"""Global IDs, the permission gate of query fields, and Relay's ``node``/``nodes`` lookups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import graphene
from graphql import GraphQLError
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
    try:
        kind, raw = from_global_id(global_id)
        pk = int(raw)
    except (ValueError, TypeError, UnicodeError):
        return None, None
    if str(pk) != raw or pk < 0:  # one spelling per object: no "+1", "01" or " 1"
        return None, None
    return kind, pk


def global_id(type_name: str, pk: int) -> str:
    return to_global_id(type_name, str(pk))


def require(info: graphene.ResolveInfo, perm: str) -> None:
    """Query fields without the view permission answer FORBIDDEN."""
    if not has_permission(info.context, perm):
        raise forbidden()


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
    that item only). ``nodes`` loads each type with one ``IN`` query.
    """

    def __init__(self, types: dict[str, tuple[type[NodeType], str]]) -> None:
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
