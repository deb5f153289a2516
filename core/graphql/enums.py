"""GraphQL enums generated from the domain's choices, the shared ones, and reading an enum argument's value."""

from __future__ import annotations

import enum
from typing import Any

import graphene

from core.choices import member_descriptions


def to_enum(choices: type[enum.Enum], *, name: str | None = None) -> type[graphene.Enum]:
    """The GraphQL enum of a domain enum (a model's ``TextChoices``): Saleor's ``to_enum``.

    Its values are the members, in their order, under their names; a member's
    ``description`` property describes its value, and the domain enum's docstring the type.
    So adding a member to the domain adds it to the API, and the two cannot drift.
    """

    type_name = name or choices.__name__
    # The domain enum's docstring describes the GraphQL type (tests/graphql/test_descriptions.py requires one).
    meta = type("Meta", (), {"name": type_name, "enum": choices, "description": choices.__doc__})
    return type(f"{type_name}Enum", (graphene.Enum,), {"Meta": meta, "__doc__": choices.__doc__})


class OrderDirection(graphene.Enum):
    """Which way a list runs. Lists run ASC (oldest first) unless asked."""

    ASC = "ASC"
    DESC = "DESC"

    description = member_descriptions(
        ASC="Ascending: oldest (or A) first.",
        DESC="Descending: newest (or Z) first.",
    )


def order_input(
    name: str, fields: type[graphene.Enum], description: str, *, field: str, direction: str
) -> type[graphene.InputObjectType]:
    """A list's ``orderBy`` input: one of its sort ``fields`` and an ``OrderDirection``, as every list takes it.

    ``field`` and ``direction`` describe the two for this list (what it may be sorted by, which way is which).
    """
    return type(
        name,
        (graphene.InputObjectType,),
        {
            "__doc__": description,
            "field": graphene.NonNull(fields, description=field),
            "direction": graphene.NonNull(OrderDirection, description=direction),
        },
    )


def enum_value(member: Any) -> Any:
    """The value of a graphene enum argument (graphene hands over the Python enum member), or None."""
    return getattr(member, "value", member)
