"""Resolvers that many types share, made by one function each, so a type declares what it reads, not how.

- ``related``: a relation read through the execution's loaders
  (``core.graphql.loaders``): asked of one object of a page, it is fetched for
  the whole page in one statement.
- ``choice``: a model field of choices as the enum's value. Fresh rows may hold
  ``TextChoices`` members, loaded ones plain strings: the enums want the string.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import graphene
from django.db.models import Model, QuerySet
from graphene import relay

from core.graphql.loaders import current_loaders
from core.graphql.node import decode_id

Resolver = Callable[[Any, Any], Any]


def related(attr: str, queryset: Callable[[], QuerySet[Any]] | None = None) -> Resolver:
    """Resolves ``obj.<attr>`` for every sibling of ``obj`` at once, with ``queryset()`` when given."""

    def resolve(obj: Model, info: Any) -> Any:
        return current_loaders().related(obj, attr, queryset() if queryset is not None else None)

    return resolve


def choice(attr: str) -> Resolver:
    """Resolves ``obj.<attr>`` (a choices field) as its text; None stays None."""

    def resolve(obj: Model, info: Any) -> str | None:
        value = getattr(obj, attr)
        return None if value is None else str(value)

    return resolve


class ModelNode(graphene.ObjectType):
    """A node type backed by one model: ``node``/``nodes`` load it by ``by_pk``, abstract types tell it by ``model``.

    Being a Relay node is what makes it one (a global ID, ``node``/``nodes``), so the
    ``relay.Node`` interface is added here rather than in each type's ``Meta``.
    """

    class Meta:
        abstract = True

    model: ClassVar[type[Model]]
    by_pk: ClassVar[Callable[[set[int]], Sequence[Any]]]  # a selector: the objects with these pks, in one statement

    @classmethod
    def __init_subclass_with_meta__(cls, interfaces: Sequence[type] = (), **options: Any) -> None:
        super().__init_subclass_with_meta__(interfaces=(relay.Node, *interfaces), **options)

    @classmethod
    def is_type_of(cls, root: Any, info: Any) -> bool:
        return isinstance(root, cls.model)

    @classmethod
    def get_nodes(cls, pks: set[int]) -> Sequence[Any]:
        return cls.by_pk(pks)


def by_id_field(node: type[ModelNode], id_description: str, description: str) -> graphene.Field:
    """The root field that reads one object of ``node`` by its global ID (``account``, ``transaction``).

    An ID that names none of this type (unknown, malformed, another type's) answers
    null, as ``node`` does; the object is loaded as ``node``/``nodes`` load it.
    """
    type_name = node._meta.name

    def resolve(root: Any, info: Any, id: str) -> Any:
        pk = decode_id(id, type_name)
        found = node.get_nodes({pk}) if pk is not None else []
        return current_loaders().register(found)[0] if found else None

    return graphene.Field(
        node,
        id=graphene.Argument(graphene.NonNull(graphene.ID), description=id_description),
        description=description,
        resolver=resolve,
    )
