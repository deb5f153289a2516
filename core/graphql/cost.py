"""Query cost, bounded before execution (CONTRACT.md, Errors), as graphql-core validation rules.

Two limits, two rules, because they depend on different things:

- ``QueryDepthRule``: depth depends on the document only, so it runs with the
  standard rules and its verdict is cached with the document.
- ``node_limit_error`` (or, as a rule, ``node_limit_rule(variables,
  operation_name)``): the node estimate depends on page sizes that may be
  variables, so the view computes it per request on the cached document.

Depth is the nesting of field selections (a root field is 1). The node
estimate is GitHub's: every connection field (one with ``first``/``last``
arguments) may return its page size times the sizes of the connections above
it, and those products are summed; a connection with neither argument counts
10 (the default page); ``nodes(ids:)`` counts one node per ID.
``accounts(first: 100) { ... transactions(first: 100) }`` is 100 + 100 * 100 =
10,100 nodes. Introspection fields (``__schema``, ``__type``, ``__typename``)
are free, so the standard introspection query always passes.

Fragments are followed and each one is measured once (memoized), so a document
that spreads fragments into fragments stays linear, and a fragment cycle (a
validation error anyway) cannot loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    ValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    value_from_ast_untyped,
)
from graphql.language.visitor import SKIP, VisitorAction

from core.graphql.connection import DEFAULT_PAGE
from core.graphql.errors import QUERY_TOO_COMPLEX


class QueryEstimate:
    """Depth and node estimate of a document's operations, fragments measured once each."""

    def __init__(
        self,
        fragments: Mapping[str, FragmentDefinitionNode],
        types: Mapping[str, GraphQLNamedType] | None = None,
        variables: Mapping[str, Any] | None = None,
        operation: OperationDefinitionNode | None = None,
    ) -> None:
        self.fragments, self.types = fragments, types or {}
        self.variables: dict[str, Any] = {}
        for definition in (operation.variable_definitions if operation else None) or ():
            if definition.default_value is not None:
                self.variables[definition.variable.name.value] = value_from_ast_untyped(definition.default_value)
        self.variables.update(variables or {})
        self._depths: dict[str, int] = {}
        self._nodes: dict[str, int] = {}
        self._open: set[str] = set()  # fragments being measured: a spread of one of them is a cycle

    # --- depth -----------------------------------------------------------------------------

    def depth(self, selection_set: SelectionSetNode | None) -> int:
        deepest = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                if not selection.name.value.startswith("__"):
                    deepest = max(deepest, 1 + self.depth(selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, self._fragment_depth(selection.name.value))
        return deepest

    def _fragment_depth(self, name: str) -> int:
        if name not in self._depths:
            fragment = self.fragments.get(name)
            if fragment is None or name in self._open:
                return 0
            self._open.add(name)
            self._depths[name] = self.depth(fragment.selection_set)
            self._open.discard(name)
        return self._depths[name]

    # --- nodes -----------------------------------------------------------------------------

    def nodes(self, parent: Any, selection_set: SelectionSetNode | None) -> int:
        """Nodes under one object of type ``parent``; the count is linear in the objects above."""
        total = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total += self._field_nodes(parent, selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                total += self.nodes(
                    self._type(parent, condition.name.value if condition else None), selection.selection_set
                )
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment_nodes(parent, selection.name.value)
        return total

    def _field_nodes(self, parent: Any, field: FieldNode) -> int:
        name = field.name.value
        definition = getattr(parent, "fields", {}).get(name) if not name.startswith("__") else None
        if definition is None:
            return 0
        child = get_named_type(definition.type)
        inner = self.nodes(child, field.selection_set)
        arguments = {argument.name.value: argument.value for argument in field.arguments or ()}
        if "first" in definition.args or "last" in definition.args:
            sizes = [size for size in (self._int(arguments.get(key)) for key in ("first", "last")) if size is not None]
            page = min(sizes) if sizes else DEFAULT_PAGE
            return page * (1 + inner)
        if "ids" in definition.args and isinstance(get_nullable_type(definition.type), GraphQLList):
            ids = self._value(arguments.get("ids"))
            count = len(ids) if isinstance(ids, list) else 1
            return count * (1 + inner)
        return inner

    def _fragment_nodes(self, parent: Any, name: str) -> int:
        if name not in self._nodes:
            fragment = self.fragments.get(name)
            if fragment is None or name in self._open:
                return 0
            self._open.add(name)
            self._nodes[name] = self.nodes(
                self._type(parent, fragment.type_condition.name.value), fragment.selection_set
            )
            self._open.discard(name)
        return self._nodes[name]

    # --- values and types ------------------------------------------------------------------

    def _value(self, node: ValueNode | None) -> Any:
        if node is None:
            return None
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        return value_from_ast_untyped(node, self.variables)

    def _int(self, node: ValueNode | None) -> int | None:
        value = self._value(node)
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON clients may send 100.0; GraphQL's Int accepts it
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        return max(value, 0)

    def _type(self, parent: Any, name: str | None) -> Any:
        return self.types.get(name, parent) if name else parent


def _fragments(rule: ValidationRule) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in rule.context.document.definitions if isinstance(d, FragmentDefinitionNode)}


def _too_complex(message: str, node: OperationDefinitionNode, **extensions: int) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": QUERY_TOO_COMPLEX, **extensions})


class QueryDepthRule(ValidationRule):
    """Refuses an operation nested deeper than ``LEDGER_MAX_DEPTH`` fields."""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.estimate = QueryEstimate(_fragments(self))

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> VisitorAction:
        depth, limit = self.estimate.depth(node.selection_set), settings.LEDGER_MAX_DEPTH
        if depth > limit:
            self.report_error(
                _too_complex(
                    f"The query is {depth} levels deep; at most {limit} are allowed.", node, depth=depth, maxDepth=limit
                )
            )
        return SKIP  # measured in one go; the visitor need not descend

    def enter_fragment_definition(self, *_args: Any) -> VisitorAction:
        return SKIP  # measured where spread


def node_limit_error(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
) -> GraphQLError | None:
    """The QUERY_TOO_COMPLEX error when ``operation`` may return over ``LEDGER_MAX_NODES`` nodes, else None.

    Cheap enough for every request (one pass over the operation and the
    fragments it spreads, a few microseconds for a transfer), unlike a full
    ``validate`` pass, which would walk the whole document with type info.
    """
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    estimate = QueryEstimate(fragments, schema.type_map, variables, operation)
    limit = settings.LEDGER_MAX_NODES
    try:
        nodes = estimate.nodes(schema.get_root_type(operation.operation), operation.selection_set)
    except RecursionError:  # validation bounds nesting at 200 levels, so this is belt and braces
        return _too_complex("The query nests too deeply to estimate.", operation, maxNodes=limit)
    if nodes <= limit:
        return None
    message = f"The query may return {nodes} nodes; at most {limit} are allowed."
    return _too_complex(message, operation, nodes=nodes, maxNodes=limit)


def node_limit_rule(variables: Mapping[str, Any] | None, operation_name: str | None) -> type[ValidationRule]:
    """``node_limit_error`` as a validation rule, for callers that validate with graphql-core."""

    class NodeLimitRule(ValidationRule):
        """Refuses an operation that may return more than ``LEDGER_MAX_NODES`` nodes."""

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> VisitorAction:
            if operation_name is None or (node.name is not None and node.name.value == operation_name):
                error = node_limit_error(self.context.schema, self.context.document, node, variables)
                if error is not None:
                    self.report_error(error)
            return SKIP

        def enter_fragment_definition(self, *_args: Any) -> VisitorAction:
            return SKIP  # measured where spread

    return NodeLimitRule
