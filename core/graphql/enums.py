"""GraphQL enums generated from the domain's choices, the shared ones, and reading an enum argument's value."""

from __future__ import annotations

import enum
from typing import Any

import graphene


def to_enum(choices: type[enum.Enum], *, name: str | None = None) -> type[graphene.Enum]:
    """The GraphQL enum of a domain enum (a model's ``TextChoices``): Saleor's ``to_enum``.

    Its values are the members, in their order, under their names; a member's
    ``description`` property, when the domain gives one, describes its value.
    So adding a member to the domain adds it to the API, and the two cannot drift.
    """

    type_name = name or choices.__name__
    meta = type("Meta", (), {"name": type_name, "enum": choices})
    # No docstring: the type has no description, as the hand-written enums had none.
    return type(f"{type_name}Enum", (graphene.Enum,), {"Meta": meta, "__doc__": None})


class OrderDirection(graphene.Enum):
    ASC = "ASC"
    DESC = "DESC"


def enum_value(member: Any) -> Any:
    """The value of a graphene enum argument (graphene hands over the Python enum member), or None."""
    return getattr(member, "value", member)
