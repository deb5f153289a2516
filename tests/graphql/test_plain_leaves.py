"""The short path for plain scalar fields (``LedgerExecutionContext.plain_leaf``) answers exactly as graphql-core does.

A page's rows are mostly scalars read by graphene's default resolver (``name``,
``amount``, ``sequence``); the execution context reads and serializes them
without graphql-core's per-field machinery. Null, a resolver's exception and a
value the scalar cannot serialize must still answer as the general path does.
"""

from __future__ import annotations

from typing import Any

import graphene
import pytest
from graphql import (
    ExecutionContext,
    ExecutionResult,
    FieldNode,
    GraphQLObjectType,
    OperationDefinitionNode,
    execute,
    parse,
)

from core.graphql.execution import LedgerExecutionContext, _plain_leaf
from ledger_project.schema import schema as ledger_schema


class Row:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    @property
    def broken(self) -> str:
        raise ValueError("no such thing")


class Color(graphene.Enum):
    RED = "RED"
    BLUE = "BLUE"


class Thing(graphene.ObjectType):
    name = graphene.String()
    required = graphene.NonNull(graphene.String)
    count = graphene.Int()
    broken = graphene.String()
    color = graphene.Field(Color)
    shout = graphene.String(times=graphene.Int())

    def resolve_shout(self, info: Any, times: int = 1) -> str:
        return str(self.name).upper() * times


class Query(graphene.ObjectType):
    things = graphene.List(Thing)
    thing = graphene.NonNull(Thing)

    def resolve_things(self, info: Any) -> list[Row]:
        return [
            Row(name="a", required="r", count=1, color="RED"),
            Row(name=None, required=None, count="not a number", color="GREEN"),
            Row(name="c", required="r", count=2**40, color=Color.BLUE),
        ]

    def resolve_thing(self, info: Any) -> Row:
        return Row(name="x", required=None, count=3, color="BLUE")


SCHEMA = graphene.Schema(query=Query).graphql_schema
QUERIES = [
    "{ things { name count color shout(times: 2) } }",
    "{ things { required } }",
    "{ things { broken name } }",
    "{ thing { name required } }",
    "{ things { n: name c: count __typename } }",
]


def field_node(name: str) -> FieldNode:
    operation = parse(f"{{ {name} }}").definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    node = operation.selection_set.selections[0]
    assert isinstance(node, FieldNode)
    return node


def run(query: str, context_class: type[ExecutionContext]) -> Any:
    result = execute(SCHEMA, parse(query), execution_context_class=context_class)
    assert isinstance(result, ExecutionResult)  # every resolver here is synchronous
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return result.data, errors


@pytest.mark.parametrize("query", QUERIES)
def test_every_answer_and_error_is_graphql_core_s(query: str) -> None:
    assert run(query, LedgerExecutionContext) == run(query, ExecutionContext)


def test_the_short_path_is_taken_for_plain_scalars_and_enums_only() -> None:
    thing = SCHEMA.get_type("Thing")
    assert isinstance(thing, GraphQLObjectType)
    plain = {name for name in thing.fields if _plain_leaf(thing, field_node(name)) is not None}
    assert plain == {"name", "required", "count", "broken", "color"}  # not `shout`: a resolver of its own


def test_the_ledger_s_page_fields_take_it() -> None:
    """The fields a statement page and a transactions page read most are plain: the lever applies to them."""
    for type_name, fields in {"Entry": ("amount", "balanceAfter", "sequence"), "Account": ("name",)}.items():
        object_type = ledger_schema.graphql_schema.get_type(type_name)
        assert isinstance(object_type, GraphQLObjectType)
        for name in fields:
            assert _plain_leaf(object_type, field_node(name)) is not None, (type_name, name)


def test_with_graphql_middleware_every_field_goes_through_it() -> None:
    """A middleware (graphene-django's debug one, say) wraps every resolver: the short path must step aside."""
    seen: list[str] = []

    def middleware(next_: Any, root: Any, info: Any, **args: Any) -> Any:
        seen.append(info.field_name)
        return next_(root, info, **args)

    result = execute(
        SCHEMA,
        parse("{ thing { name count } }"),
        execution_context_class=LedgerExecutionContext,
        middleware=[middleware],
    )
    assert isinstance(result, ExecutionResult) and result.data == {"thing": {"name": "x", "count": 3}}
    assert seen == ["thing", "name", "count"]
