"""The descriptions every connection, edge, payload and input shares, written once for the whole schema.

A field that means the same thing everywhere (``pageInfo``, ``cursor``,
``clientMutationId``, a payload's ``errors``, the page arguments ``first``
``after`` ``last`` ``before``) is described here, by its place in the schema,
instead of at each of its thirty definitions. Everything else is described
beside its definition. ``describe_shared`` only fills what is still empty, so
a definition's own description always wins; ``undescribed`` lists what is
left (tests/graphql/test_descriptions.py requires it to be nothing).

It also gives the contract's two scalars their ``specifiedByURL`` (graphene's
``Scalar`` has no option for it): the page where docs/CLIENTS.md specifies
them, served by the API itself (``ledger_project.docs``).
"""

from __future__ import annotations

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
)

from core.graphql.connection import DEFAULT_PAGE, MAX_PAGE

# Where a scalar is specified: a path of this API (the printed schema must not depend on a host name).
SCALAR_SPEC_PATH = "/graphql/scalars/{name}"
SPECIFIED_SCALARS = ("Decimal", "DateTime")

PAGE_ARGUMENTS = {
    "first": f"Forward paging: at most this many items (0 to {MAX_PAGE}) from the start, or after `after`. "
    f"Without `first` and `last`, the first {DEFAULT_PAGE}.",
    "after": "Forward paging: only items after this cursor (a `cursor` or `pageInfo.endCursor` of this same list).",
    "last": f"Backward paging: at most this many items (0 to {MAX_PAGE}) from the end, or before `before`.",
    "before": "Backward paging: only items before this cursor (a `cursor` or `pageInfo.startCursor` of this "
    "same list).",
}
CONNECTION_FIELDS = {
    "pageInfo": "Where this page sits in the list: the cursors to go on from, and whether more items exist.",
    "edges": "The items of this page, in the list's order, each with its cursor.",
}
EDGE_FIELDS = {
    "cursor": "Opaque: pass it as `after` (or `before`) to continue from this item. Valid on this list only.",
}
PAYLOAD_FIELDS = {
    "errors": "Business-rule failures (see LedgerErrorCode); empty on success. Check it on every answer: "
    "a FAILED transaction comes with its error here, in a normal HTTP 200 answer.",
    "clientMutationId": "The input's clientMutationId, echoed (Relay).",
}
INPUT_FIELDS = {
    "clientMutationId": "Any string of yours, echoed in the payload (Relay); the ledger does not read it.",
}


def describe_shared(schema: GraphQLSchema) -> GraphQLSchema:
    """Fills the shared descriptions where a definition gave none, and the scalars' specifiedByURL."""
    for name in SPECIFIED_SCALARS:
        scalar = schema.type_map.get(name)
        if isinstance(scalar, GraphQLScalarType):
            scalar.specified_by_url = SCALAR_SPEC_PATH.format(name=name)
    mutations = schema.mutation_type.fields if schema.mutation_type else {}
    for mutation_name, mutation in mutations.items():
        payload, input_type = _named(mutation.type), _named(mutation.args["input"].type)
        _fill(payload, f"What `{mutation_name}` answers. Check `errors` first: empty means it was done.")
        _fill(input_type, f"The input of `{mutation_name}`.")
        _fill(mutation.args["input"], _input_phrase(mutation_name))
    for type_name, graphql_type in schema.type_map.items():
        if type_name.startswith("__"):
            continue
        if isinstance(graphql_type, GraphQLObjectType):
            _describe_object(type_name, graphql_type)
        elif isinstance(graphql_type, GraphQLInputObjectType):
            for field_name, input_field in graphql_type.fields.items():
                _fill(input_field, INPUT_FIELDS.get(field_name))
    return schema


def _describe_object(type_name: str, graphql_type: GraphQLObjectType) -> None:
    if type_name.endswith("Connection"):
        item = type_name.removesuffix("Connection")
        _fill(graphql_type, f"A page of a list of {item} objects, paged with keyset cursors (docs/CLIENTS.md).")
        for field_name, field in graphql_type.fields.items():
            _fill(field, CONNECTION_FIELDS.get(field_name))
    elif type_name.endswith("Edge"):
        item = type_name.removesuffix("Edge")
        _fill(graphql_type, f"One {item} of a page, with its cursor.")
        for field_name, field in graphql_type.fields.items():
            _fill(field, EDGE_FIELDS.get(field_name, f"The {item}." if field_name == "node" else None))
    elif type_name.endswith("Payload"):
        for field_name, field in graphql_type.fields.items():
            _fill(field, PAYLOAD_FIELDS.get(field_name))
    for field in graphql_type.fields.values():
        for argument_name, argument in field.args.items():
            _fill(argument, PAGE_ARGUMENTS.get(argument_name))


def _input_phrase(mutation_name: str) -> str:
    """``createAccount`` -> "The account to create." (the mutation's `input` argument)."""
    verb, _, noun = "".join(c if c.islower() else " " + c.lower() for c in mutation_name).partition(" ")
    return f"The {noun} to {verb}." if noun else f"What to {verb}."


def _named(graphql_type: object) -> object:
    while hasattr(graphql_type, "of_type"):
        graphql_type = graphql_type.of_type
    return graphql_type


Described = (
    GraphQLObjectType
    | GraphQLInputObjectType
    | GraphQLField
    | GraphQLInputField
    | GraphQLArgument
    | GraphQLEnumType
    | GraphQLInterfaceType
)


def _fill(target: object, description: str | None) -> None:
    if description and isinstance(target, Described) and not target.description:
        target.description = description


def undescribed(schema: GraphQLSchema) -> list[str]:
    """Every type, field, argument and enum value of ``schema`` without a description (graphene's default counts)."""
    missing: list[str] = []
    for type_name, graphql_type in schema.type_map.items():
        if type_name.startswith("__") or type_name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not _has_text(graphql_type.description):
            missing.append(type_name)
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in graphql_type.fields.items():
                if not _has_text(field.description):
                    missing.append(f"{type_name}.{field_name}")
                for argument_name, argument in getattr(field, "args", {}).items():
                    if not _has_text(argument.description):
                        missing.append(f"{type_name}.{field_name}({argument_name})")
        if isinstance(graphql_type, GraphQLEnumType):
            missing += [
                f"{type_name}.{v}" for v, value in graphql_type.values.items() if not _has_text(value.description)
            ]
    return missing


def _has_text(description: str | None) -> bool:
    return bool(description and description.strip() and description.strip() != "An enumeration.")
