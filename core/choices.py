"""The API's words for a domain enum's members, declared beside the members as data."""

from __future__ import annotations

import enum


def member_descriptions(**words: str) -> property:
    """A domain enum's ``description`` property: each member's words by its name, None for one left out.

    graphene reads it as the description of each value of the enum made from the
    choices (``core.graphql.enums.to_enum``), and of its own enums; a property is no
    member, so the enum stays exactly its members (and the model fields' choices,
    with their migrations, do not move).
    """

    def description(member: enum.Enum) -> str | None:
        return words.get(member.name)

    return property(description)
