"""Enums shared by several connections, and reading an enum argument's value."""

from __future__ import annotations

from typing import Any

import graphene


class OrderDirection(graphene.Enum):
    ASC = "ASC"
    DESC = "DESC"


def enum_value(member: Any) -> Any:
    """The value of a graphene enum argument (graphene hands over the Python enum member), or None."""
    return getattr(member, "value", member)
