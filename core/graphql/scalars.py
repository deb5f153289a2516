"""The contract's scalars (exact money, ISO-8601 instants) and the one rule for every text input.

Text: every ``String`` and ``ID`` input, argument or input field, literal or
variable, is parsed by graphql-core's two built-in scalars (graphene maps its
``String`` and ``ID`` to them). Their parse functions are wrapped here, once
per process, with ``text_refusal``: a NUL (PostgreSQL's text refuses it) or a
lone surrogate (it has no UTF-8 form) can reach neither a query nor a row.
The scalar cannot answer the refusal itself, because a query argument and a
mutation input field are answered differently: the argument with a
``BAD_USER_INPUT`` error at its field, the input field with an
``INVALID_INPUT`` payload error naming it, which only the mutation can give.
So the scalar puts a ``RefusedText`` in the value's place, and the two owners
of arguments answer it before anything runs: ``refuse_hostile_arguments``
wraps the resolver of every field that takes arguments, and
``core.graphql.mutations.LedgerMutation`` checks its whole input.

An ``ID`` is the exception the contract makes: a malformed ID answers
``null`` (``node``, ``account``...) or ``ACCOUNT_NOT_FOUND`` /
``TRANSACTION_NOT_FOUND`` (mutation input), never an error of its own. A
refused ID is a malformed one: its ``RefusedText`` is left for the ID
decoders (``core.graphql.node.parse_id``), which take only a ``str``, so it
resolves nothing and answers as the contract says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import graphene
from graphql import (
    GraphQLArgument,
    GraphQLError,
    GraphQLID,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    Undefined,
    default_field_resolver,
)
from graphql.language import FloatValueNode, IntValueNode, StringValueNode, ValueNode

from core.graphql.errors import BAD_USER_INPUT, bad_user_input
from core.money import format_amount

# NUL, and UTF-16 surrogates: a str holding one has no UTF-8 form. JSON decodes an escaped pair
# ("\ud83d\ude00") to one character, so what arrives from a client is a lone one.
_HOSTILE = re.compile("[\x00\ud800-\udfff]")


def text_refusal(text: str) -> str | None:
    """Why ``text`` can be neither stored nor compared with what is stored, or None when it can."""
    found = _HOSTILE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "must not contain NUL characters (U+0000)."
    return "must be valid Unicode: it contains a lone surrogate."


@dataclass(frozen=True)
class RefusedText:
    """What a String or ID input becomes when ``text_refusal`` refuses it: only the reason is kept."""

    reason: str
    scalar: str  # "String" (answered as refused text) or "ID" (a malformed ID, answered as one)

    @property
    def answered_here(self) -> bool:
        """Whether the argument's owner answers it; a refused ID is left to the ID decoders."""
        return self.scalar != GraphQLID.name


def refused_in(value: Any) -> RefusedText | None:
    """The first refused String inside a parsed argument value (lists and input objects included)."""
    if isinstance(value, RefusedText):
        return value if value.answered_here else None
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list | tuple):
        for item in value:
            found = refused_in(item)
            if found is not None:
                return found
    return None


def _checked(parse: Callable[..., Any], scalar: str) -> Callable[..., Any]:
    def parse_checked(*args: Any) -> Any:
        value = parse(*args)
        reason = text_refusal(value) if isinstance(value, str) else None
        return value if reason is None else RefusedText(reason, scalar)

    parse_checked.ledger_text_rule = True  # type: ignore[attr-defined]
    return parse_checked


def install_text_rule(scalars: tuple[GraphQLScalarType, ...] = (GraphQLString, GraphQLID)) -> None:
    """Wraps the built-in text scalars' parse functions with ``text_refusal`` (idempotent)."""
    for scalar in scalars:
        for name in ("parse_value", "parse_literal"):
            parse = getattr(scalar, name)
            if not getattr(parse, "ledger_text_rule", False):
                setattr(scalar, name, _checked(parse, scalar.name))


install_text_rule()


def refuse_hostile_arguments(schema: GraphQLSchema) -> GraphQLSchema:
    """Makes every field with arguments answer BAD_USER_INPUT, unresolved, when one carries refused text.

    Mutation fields are left to ``LedgerMutation``, which answers the same
    input with an INVALID_INPUT payload error instead.
    """
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type is schema.mutation_type:
            continue
        for field in graphql_type.fields.values():
            resolve = field.resolve or default_field_resolver
            if field.args and not getattr(resolve, "ledger_text_rule", False):
                field.resolve = _refusing(resolve, field.args)
    return schema


def _refusing(resolve: Callable[..., Any], args: dict[str, GraphQLArgument]) -> Callable[..., Any]:
    public = {argument.out_name or name: name for name, argument in args.items()}

    def resolve_checked(source: Any, info: graphene.ResolveInfo, **kwargs: Any) -> Any:
        for key, value in kwargs.items():
            refused = refused_in(value)
            if refused is not None:
                name = public.get(key, key)
                raise bad_user_input(f"`{name}` {refused.reason}", name)
        return resolve(source, info, **kwargs)

    resolve_checked.ledger_text_rule = True  # type: ignore[attr-defined]
    return resolve_checked


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
        # Checked and converted by core.money.parse_amount, which names the field (INVALID_AMOUNT in the payload)
        # and reads ASCII digits only: int("\uff11") is 1, so the digits are never left to int() or Decimal().
        return value


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
            return parse_instant(value)
        except OverflowError:
            raise GraphQLError(
                f"DateTime {value!r} is out of range: in UTC it must fall within years 1 to 9999.",
                extensions={"code": BAD_USER_INPUT},
            ) from None
        except ValueError as error:
            raise GraphQLError(f"Invalid DateTime {value!r}: {error}") from None


def parse_instant(value: Any) -> datetime:
    """An ISO-8601 instant with its offset, as the same instant in UTC.

    Raises ValueError when ``value`` is not one (non-ASCII digits included:
    ``fromisoformat`` is strict, this says so), and OverflowError when the
    instant falls outside years 1 to 9999 once in UTC ("9999-12-31T23:59:59-23:59"):
    Python accepts offsets up to 24 hours, PostgreSQL only up to 16, so the
    offset never travels further than here.
    """
    if not isinstance(value, str) or not value.isascii() or text_refusal(value) is not None:
        raise ValueError("expected an ISO-8601 string with an offset.")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("expected ISO-8601 with an offset.") from None
    if parsed.tzinfo is None:
        raise ValueError("the UTC offset is required.")
    return parsed.astimezone(UTC)
