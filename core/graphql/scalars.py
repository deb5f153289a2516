"""The contract's scalars: exact money and ISO-8601 instants."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import graphene
from graphql import GraphQLError, Undefined
from graphql.language import FloatValueNode, IntValueNode, StringValueNode, ValueNode

from core.money import format_amount


class Decimal(graphene.Scalar):
    """Exact money amount, serialized as a string with exactly two decimal places ("1234.50").
    As input it accepts a string ("12.5", "12.50"), an Int, or a Float literal with at most two
    decimal places. Never a binary float."""

    @staticmethod
    def serialize(cents: int) -> str:
        # Inside the ledger amounts are int centavos; they become strings only here.
        return format_amount(int(cents))

    @staticmethod
    def parse_literal(node: ValueNode, _variables: Any = None) -> Any:
        # A Float literal keeps its source text ("10.50"): it never becomes a binary float.
        if isinstance(node, IntValueNode | FloatValueNode | StringValueNode):
            return node.value if not isinstance(node, IntValueNode) else int(node.value)
        return Undefined

    @staticmethod
    def parse_value(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise GraphQLError("Decimal accepts a string, an Int or a Float.")
        return value  # checked and converted by core.money.parse_amount, which names the field


class DateTime(graphene.Scalar):
    """ISO-8601 instant with a UTC offset, e.g. "2026-11-24T12:00:00.000000+00:00"."""

    @staticmethod
    def serialize(value: datetime) -> str:
        # Always UTC and always microseconds, so that equal instants print equally.
        return value.astimezone(UTC).isoformat(timespec="microseconds")

    @staticmethod
    def parse_literal(node: ValueNode, _variables: Any = None) -> Any:
        if isinstance(node, StringValueNode):
            return DateTime.parse_value(node.value)
        return Undefined

    @staticmethod
    def parse_value(value: Any) -> datetime:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise GraphQLError(f"Invalid DateTime {value!r}: expected ISO-8601 with an offset.") from None
        if parsed.tzinfo is None:
            raise GraphQLError(f"Invalid DateTime {value!r}: the UTC offset is required.")
        return parsed
