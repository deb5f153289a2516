"""The execution context every operation runs with: its loaders and the view rule of every object.

The HTTP view passes ``execution_context_class=LedgerExecutionContext``, and the
root schema's ``execute`` defaults to it, so each operation gets a fresh
``core.graphql.loaders.Loaders``: batching state never outlives an operation
nor crosses threads.

It also enforces, once for every path, who may view what (the rules are
declared beside the types, ``core.graphql.node``): every object's selection
passes ``execute_fields``, where an object of a type the caller may not view,
and a field whose type or own rule needs a permission the caller lacks, answer
``null`` with a FORBIDDEN error at their path (a non-null field nulls its
parent, as GraphQL propagates nulls) and the field is never resolved. The
verdict is computed once per selection and operation; each further object of
the same selection (a page's rows) costs one dictionary lookup.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from graphene.types.resolver import dict_or_attr_resolver
from graphql import (
    ExecutionContext,
    FieldNode,
    GraphQLEnumType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    OperationDefinitionNode,
    get_named_type,
    located_error,
)
from graphql.pyutils import AwaitableOrValue, Path, Undefined

from core.graphql.errors import forbidden
from core.graphql.loaders import bound_loaders
from core.graphql.node import field_permissions, view_permission
from core.permissions import has_permission

Fields = dict[str, list[FieldNode]]


def returned_permission(field_type: GraphQLOutputType) -> str | None:
    """The view permission of what a field returns: its object type's, or a connection's node type's.

    A connection (``edges { node }``) is only a wrapper, but its ``totalCount``
    and cursors describe rows of its node type: the field that returns it needs
    what the rows need, so a connection added later is gated without a rule.
    """
    named = get_named_type(field_type)
    if not isinstance(named, GraphQLObjectType):
        return None
    own = view_permission(named)
    edges = named.fields.get("edges") if own is None else None
    if edges is None:
        return own
    edge = get_named_type(edges.type)
    node = edge.fields.get("node") if isinstance(edge, GraphQLObjectType) else None
    node_type = get_named_type(node.type) if node is not None else None
    return view_permission(node_type) if isinstance(node_type, GraphQLObjectType) else None


@dataclass(frozen=True)
class Refusal:
    """What the caller may not read of one selection: the object itself, or these fields (key -> type)."""

    whole: bool
    fields: dict[str, GraphQLOutputType] = field(default_factory=dict)


def _never_awaitable(value: Any) -> bool:
    return False


_UNKNOWN = object()


def _plain_leaf(parent_type: GraphQLObjectType, node: FieldNode) -> tuple[Any, Any] | None:
    definition = parent_type.fields.get(node.name.value)
    if definition is None or definition.args or node.arguments:  # `__typename`, or arguments to read
        return None
    resolve = definition.resolve
    if not (isinstance(resolve, functools.partial) and resolve.func is dict_or_attr_resolver):
        return None
    named = definition.type.of_type if isinstance(definition.type, GraphQLNonNull) else definition.type
    if not isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return None
    return resolve, named.serialize


class LedgerExecutionContext(ExecutionContext):
    # Resolvers are synchronous (the view asserts it): graphql-core's check of every field's value for an
    # awaitable (an isinstance chain per value) is ~7% of a 50-row page's CPU for nothing.
    is_awaitable = staticmethod(_never_awaitable)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.granted: dict[str, bool] = {}
        # id(selection) -> (the selection, kept so its id is never reused; its verdict, None when all is allowed).
        self.verdicts: dict[int, tuple[Fields, Refusal | None]] = {}
        # (type, field, has arguments) -> plain_leaf's answer.
        self.leaves: dict[tuple[str, str, bool], Any] = {}

    def execute_operation(self, operation: OperationDefinitionNode, root_value: Any) -> Any:
        # Resolvers are synchronous (no async view), so the whole result is built inside this block.
        with bound_loaders():
            return super().execute_operation(operation, root_value)

    def execute_field(
        self, parent_type: GraphQLObjectType, source: Any, field_nodes: list[FieldNode], path: Path
    ) -> AwaitableOrValue[Any]:
        # The request's wall-clock budget (core.graphql.backstops.RequestBudget, set by the HTTP view): a field that
        # would start past the deadline answers QUERY_TOO_COMPLEX at its path instead of running (a non-null
        # one nulls its parent, as GraphQL does). One clock read per field.
        budget = getattr(self.context_value, "ledger_budget", None)
        spent = budget.spent(field_nodes, path) if budget is not None else None
        if spent is not None:
            definition = parent_type.fields.get(field_nodes[0].name.value)
            if definition is not None:  # `__typename` reads nothing: it is not refused
                self.handle_field_error(spent, definition.type, path)
                return None
        leaf = self.plain_leaf(parent_type, field_nodes[0])
        if leaf is not None:
            # The common case of a page's rows (`name`, `amount`, `sequence`): graphene's attribute
            # resolver and the scalar's serialize, without building a ResolveInfo, argument values and
            # the generic completion. Anything else (null, an error) takes the general path below,
            # which reads the attribute again and answers exactly as graphql-core does.
            resolve, serialize = leaf
            try:
                value = resolve(source, None)
                if value is not None and value is not Undefined and not isinstance(value, Exception):
                    serialized = serialize(value)
                    if serialized is not None and serialized is not Undefined:
                        return serialized
            except Exception:  # the general path below locates and reports it
                pass
        return super().execute_field(parent_type, source, field_nodes, path)

    def plain_leaf(self, parent_type: GraphQLObjectType, node: FieldNode) -> tuple[Any, Any] | None:
        """(resolver, serialize) when the field is a scalar or enum read by graphene's default resolver
        with no arguments; else None. Decided once per field and operation. Never with graphql middleware:
        a middleware wraps every resolver, so every field must go through graphql-core's call."""
        if self.middleware_manager is not None:
            return None
        key = (parent_type.name, node.name.value, bool(node.arguments))
        known = self.leaves.get(key, _UNKNOWN)
        if known is _UNKNOWN:
            known = self.leaves[key] = _plain_leaf(parent_type, node)
        return known

    def execute_fields(
        self, parent_type: GraphQLObjectType, source_value: Any, path: Path | None, fields: Fields
    ) -> AwaitableOrValue[dict[str, Any]]:
        # graphql-core caches each selection per type and operation: one verdict serves every row.
        known = self.verdicts.get(id(fields))
        if known is None or known[0] is not fields:
            known = self.verdicts[id(fields)] = (fields, self.judge(parent_type, fields))
        refusal = known[1]
        if refusal is None:
            return super().execute_fields(parent_type, source_value, path, fields)
        if refusal.whole:
            raise forbidden()  # located at the field (or list item) that returned this object
        return self.execute_allowed_fields(parent_type, source_value, path, fields, refusal.fields)

    def judge(self, parent_type: GraphQLObjectType, fields: Fields) -> Refusal | None:
        """What this caller may not read of ``fields`` on ``parent_type``; None when nothing."""
        own = view_permission(parent_type)
        if own is not None and not self.may(own):
            return Refusal(whole=True)
        rules = field_permissions(parent_type)
        refused: dict[str, GraphQLOutputType] = {}
        for key, nodes in fields.items():
            name = nodes[0].name.value
            definition = parent_type.fields.get(name)
            if definition is None:  # __typename
                continue
            needed = (rules.get(name), returned_permission(definition.type))
            if any(permission is not None and not self.may(permission) for permission in needed):
                refused[key] = definition.type
        return Refusal(whole=False, fields=refused) if refused else None

    def may(self, permission: str) -> bool:
        """``has_permission`` for this operation's caller, asked once per permission."""
        verdict = self.granted.get(permission)
        if verdict is None:
            verdict = self.granted[permission] = has_permission(self.context_value, permission)
        return verdict

    def execute_allowed_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        fields: Fields,
        refused: dict[str, GraphQLOutputType],
    ) -> dict[str, Any]:
        """``execute_fields`` (synchronous), a refused field answering FORBIDDEN without being resolved."""
        results: dict[str, Any] = {}
        for key, nodes in fields.items():
            field_path = Path(path, key, parent_type.name)
            refused_type = refused.get(key)
            if refused_type is None:
                result = self.execute_field(parent_type, source_value, nodes, field_path)
                if result is not Undefined:
                    results[key] = result
                continue
            error = located_error(forbidden(), nodes, field_path.as_list())
            self.handle_field_error(error, refused_type, field_path)  # raises for a non-null field
            results[key] = None
        return results
