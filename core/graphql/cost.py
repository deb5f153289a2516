"""Query cost, bounded before execution (CONTRACT.md, Errors; the rules, with numbers: docs/HTTP.md, Cost limits).

An operation is measured on its document and variables, before anything runs,
in five numbers, each against its own limit, because each bounds a different
resource:

- ``depth``: the nesting of field selections (a root field is 1). It depends
  on the document only, so ``QueryDepthRule`` runs with graphql-core's
  validation rules and its verdict is cached with the document.
- ``nodes``: the objects with an ID the response may hold, GitHub's estimate.
  A connection (a field with ``first``/``last``) counts its page size (10
  without either, the smaller with both), a lookup by ``ids`` one per ID, and
  a database field that returns objects (``DATABASE_FIELDS``: ``account``,
  ``node``, ``sender``, ``entries``...) one per object; each is multiplied by
  the objects above it.
- ``statements``: the SQL statements the operation may run. Every database
  field costs at least 1, a totalCount or a ``first: 0`` page included, per
  *batch*: the fields asked of the objects of one list are loaded for the
  whole list at once (``core.graphql.loaders``), so they cost once per list,
  not once per object (except ``PER_OWNER_CONNECTIONS``, loaded per
  object). A root field (each alias) is its own batch; a
  mutation field costs ``MUTATION_STATEMENTS``; a count of a filtered list,
  which counts rows instead of reading a counter, ``FILTERED_COUNT_STATEMENTS``.
- ``introspection``: the values under ``__schema`` and ``__type``, counted
  exactly: their lists are the schema's own (``__schema { types }`` is every
  type, ``fields`` a type's fields), so the standard introspection query
  costs what its answer holds, and aliasing or nesting it to fan out costs
  what the fan-out would send.
- ``fields``: the values the response may hold, every selected field (and
  ``__typename``, and introspection) once per object; this bounds aliasing
  scalars under a large page.

Lists multiply everything below them by their bound: a connection's ``edges``
by its page size, ``nodes(ids:)`` by the IDs, ``Transaction.entries`` by 2,
``createTransactions.results`` by the number of specs sent (``MAX_LIST`` when
the request does not say), any other list by ``MAX_LIST`` unless
``LIST_BOUNDS``/``ITEM_BOUNDS`` name it.

Each measure is linear in the objects and batches above it, so a fragment is
measured once per (type, page) and memoized: a document that spreads fragments
into fragments stays linear, and a fragment cycle (a validation error anyway)
cannot loop. ``tests/http/test_cost_model.py`` runs every field of the schema
and checks that each one that runs SQL is in ``DATABASE_FIELDS``, and that
every list is bounded.

Backstops hold whatever the estimate says (``core.graphql.backstops``):
PostgreSQL's ``statement_timeout``, the wall-clock ``RequestBudget`` that
``core.graphql.execution`` checks before every field, and a response size
budget.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
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
    is_abstract_type,
    is_composite_type,
    is_enum_type,
    is_input_object_type,
    is_interface_type,
    is_object_type,
    is_wrapping_type,
    value_from_ast_untyped,
)
from graphql.language.visitor import SKIP, VisitorAction

from core.graphql.connection import DEFAULT_PAGE
from core.graphql.errors import QUERY_TOO_COMPLEX

MAX_LIST = 1_000  # the longest list the API returns: a batch's results (transactions.services.MAX_BATCH)
INTROSPECTION_STEPS_PER_FIELD = 10  # measuring introspection stops after this many selections per allowed field
MUTATION_STATEMENTS = 10  # a mutation field: the service's statements, roughly, whatever it does

# Every field whose resolver reaches the database, as (type, field) -> statements per batch.
# A connection field's own statement (the page), and each of its page-level fields that may run one.
DATABASE_FIELDS: Mapping[tuple[str, str], int] = {
    ("Query", "account"): 1,
    ("Query", "accounts"): 1,
    ("Query", "transaction"): 1,
    ("Query", "transactions"): 2,  # with `accountId`: the account, then its page
    ("Query", "node"): 1,
    ("Query", "nodes"): 3,  # one IN per type (Account, Transaction, Entry)
    ("Query", "ledgerFeed"): 1,
    ("Query", "auditEvents"): 1,
    ("Account", "auditEvents"): 1,
    ("Transaction", "auditEvents"): 1,
    ("AuditEvent", "subjects"): 2,  # one IN per type (Account, Transaction)
    ("AuditEventConnection", "totalCount"): 1,  # the page and its next-page row in one statement (transactions.feed)
    ("Account", "balanceAt"): 1,
    ("Account", "transactions"): 2,  # direction ALL: the sender side and the receiver side
    ("Account", "entries"): 1,
    ("Transaction", "sender"): 1,
    ("Transaction", "receiver"): 1,
    ("Transaction", "reversedBy"): 1,
    ("Transaction", "reverses"): 1,
    ("Transaction", "reversals"): 1,
    ("Transaction", "entries"): 1,
    ("Entry", "account"): 1,
    ("Entry", "transaction"): 1,
    ("AccountConnection", "totalCount"): 1,
    ("TransactionConnection", "totalCount"): 1,
    ("EntryConnection", "totalCount"): 1,
    ("PageInfo", "hasNextPage"): 1,  # an EXISTS when the page cannot tell
    ("PageInfo", "hasPreviousPage"): 1,
}

# Connections loaded one owner at a time (an owner's audit trail is a JSONB containment, not a column the
# nested loader can partition by, ``core.graphql.nested``): the page and its page-level fields cost once
# per owner, not once per list of owners.
PER_OWNER_CONNECTIONS: frozenset[tuple[str, str]] = frozenset(
    {("Account", "auditEvents"), ("Transaction", "auditEvents")}
)

# A count that cannot come from the counters kept with each write (core.counters) counts rows: the
# `totalCount` of a connection asked with one of these filters costs FILTERED_COUNT_STATEMENTS.
FILTERED_COUNT_STATEMENTS = 10
# Lists whose totalCount always counts rows: the feed counts the entries visible now.
ALWAYS_COUNTED: frozenset[tuple[str, str]] = frozenset(
    {("Query", "ledgerFeed"), ("Account", "auditEvents"), ("Transaction", "auditEvents")}
)
COUNTED_FILTERS: Mapping[tuple[str, str], frozenset[str]] = {
    ("Query", "transactions"): frozenset({"status", "type", "createdAfter", "createdBefore", "metadata"}),
    ("Query", "accounts"): frozenset({"search", "kind", "metadata"}),
    ("Query", "auditEvents"): frozenset({"action", "actor", "since", "until"}),
    ("Account", "transactions"): frozenset({"status", "type"}),
    ("Account", "entries"): frozenset({"since", "until"}),
}

# Lists that are neither a connection's `edges` nor a lookup by `ids`: (type, field) -> most items.
LIST_BOUNDS: Mapping[tuple[str, str], int] = {
    ("Transaction", "entries"): 2,  # the debit and the credit
    ("Account", "metadata"): 20,  # core.metadata.MAX_ENTRIES
    ("Transaction", "metadata"): 20,
    ("AuditEvent", "subjects"): 2001,  # a batch of 1000: its transactions and their accounts
    # Partial refunds of one payment: a few in practice. The estimate, not a cap (docs/DECISIONS.md).
    ("Transaction", "reversals"): 10,
}
# Lists as long as a list of the mutation's input: (payload type, field) -> path in the mutation's arguments.
INPUT_BOUNDS: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("CreateTransactionsPayload", "results"): ("input", "transactions"),
}
# Lists bounded by what they hold: a payload carries at most one business error.
ITEM_BOUNDS: Mapping[str, int] = {"LedgerError": 1}


@dataclass(frozen=True)
class Page:
    """What the fields of a connection object need to know of it: its page size, and whether it is filtered."""

    size: int
    filtered: bool


class TooLarge(Exception):
    """Measuring stopped: the introspection count is already past the limit."""


@dataclass
class Form:
    """A selection's cost for one object of its type: ``per_group`` statements run once per batch of such objects."""

    nodes: int = 0
    fields: int = 0
    introspection: int = 0
    per_object: int = 0
    per_group: int = 0

    def add(self, child: Form) -> None:
        """A child at the same level (a single object: it is loaded with its siblings' in one batch)."""
        self.nodes += child.nodes
        self.fields += child.fields
        self.introspection += child.introspection
        self.per_object += child.per_object
        self.per_group += child.per_group

    def add_list(self, child: Form, bound: int) -> None:
        """A list of up to ``bound`` children per object: each object's list is a batch of its own."""
        self.nodes += bound * child.nodes
        self.fields += bound * child.fields
        self.introspection += bound * child.introspection
        self.per_object += bound * child.per_object + child.per_group


@dataclass(frozen=True)
class Cost:
    """What an operation may cost, and its limits (``extensions.cost`` of the response)."""

    depth: int
    nodes: int
    statements: int
    fields: int
    introspection: int

    def limits(self) -> Iterator[tuple[str, int, int, str]]:
        yield "nodes", self.nodes, settings.LEDGER_MAX_NODES, "may return {} nodes"
        yield "statements", self.statements, settings.LEDGER_MAX_STATEMENTS, "may run {} database statements"
        introspection = settings.LEDGER_MAX_INTROSPECTION
        yield "introspection", self.introspection, introspection, "may return {} introspection fields"
        yield "fields", self.fields, settings.LEDGER_MAX_FIELDS, "may return {} fields"

    def as_extension(self) -> dict[str, int]:
        shown = {"depth": self.depth, "maxDepth": settings.LEDGER_MAX_DEPTH}
        for name, value, limit, _ in self.limits():
            shown[name] = value
            shown[f"max{name[0].upper()}{name[1:]}"] = limit
        return shown

    def refusal(self, operation: OperationDefinitionNode) -> GraphQLError | None:
        """QUERY_TOO_COMPLEX naming the first measure over its limit, else None."""
        for name, value, limit, says in self.limits():
            if value > limit:
                maximum = f"max{name[0].upper()}{name[1:]}"
                message = f"The query {says.format(value)}; at most {limit} are allowed."
                return _too_complex(message, operation, **{name: value, maximum: limit})
        return None


ALL_VARIABLES = "*"


class VariableReads(dict[str, Any]):
    """The estimate's variables, noting in ``reads`` each name it looks up (``ALL_VARIABLES`` when it lists them).

    Whether there are any (``len``, truth) is not noted: the memo's key holds the names the request sent.
    """

    def __init__(self, values: Mapping[str, Any], reads: set[str]) -> None:
        super().__init__(values)
        self.reads = reads

    def get(self, key: str, default: Any = None) -> Any:
        self.reads.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.reads.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.reads.add(str(key))
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self.reads.add(ALL_VARIABLES)
        return super().__iter__()

    def keys(self) -> Any:
        self.reads.add(ALL_VARIABLES)
        return super().keys()

    def values(self) -> Any:
        self.reads.add(ALL_VARIABLES)
        return super().values()

    def items(self) -> Any:
        self.reads.add(ALL_VARIABLES)
        return super().items()


class QueryEstimate:
    """Depth and cost of a document's operations, fragments measured once each."""

    def __init__(
        self,
        fragments: Mapping[str, FragmentDefinitionNode],
        schema: GraphQLSchema | None = None,
        variables: Mapping[str, Any] | None = None,
        operation: OperationDefinitionNode | None = None,
        introspection_budget: int | None = None,
    ) -> None:
        self.fragments, self.schema = fragments, schema
        self.types: Mapping[str, GraphQLNamedType] = schema.type_map if schema else {}
        self.variables: dict[str, Any] = {}
        for definition in (operation.variable_definitions if operation else None) or ():
            if definition.default_value is not None:
                self.variables[definition.variable.name.value] = value_from_ast_untyped(definition.default_value)
        self.variables.update(variables or {})
        self.introspection_budget = introspection_budget
        self._depths: dict[str, int] = {}
        self._forms: dict[tuple[Any, ...], Form] = {}
        self._introspected: dict[tuple[int, int], int] = {}
        self._measured = self._steps = 0  # introspection work: fields, and all selections, measured
        self._open: set[Any] = set()  # fragments being measured: a spread of one of them is a cycle
        # The argument nodes of the mutation field being measured, their values read only when a bound needs them
        # (so a mutation's cost depends on the variables it reads, not on all it is sent: trusted.store's memo).
        self._input_nodes: Mapping[str, ValueNode] = {}
        self._input_values: Mapping[str, Any] | None = {}

    @property
    def _input(self) -> Mapping[str, Any]:
        if self._input_values is None:
            self._input_values = {key: self._value(value) for key, value in self._input_nodes.items()}
        return self._input_values

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

    # --- nodes, statements, fields -----------------------------------------------------------

    def cost(self, operation: OperationDefinitionNode) -> Cost:
        assert self.schema is not None
        form = self.form(self.schema.get_root_type(operation.operation), operation.selection_set)
        # The root is one object in one batch.
        statements = form.per_object + form.per_group
        return Cost(self.depth(operation.selection_set), form.nodes, statements, form.fields, form.introspection)

    def form(self, parent: Any, selection_set: SelectionSetNode | None, page: Page | None = None) -> Form:
        """The cost of ``selection_set`` on one object of type ``parent`` (``page``: when it is a connection)."""
        total = Form()
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                total.add(self._field(parent, selection, page))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                total.add(
                    self.form(
                        self._type(parent, condition.name.value if condition else None), selection.selection_set, page
                    )
                )
            elif isinstance(selection, FragmentSpreadNode):
                total.add(self._fragment(parent, selection.name.value, page))
        return total

    def _fragment(self, parent: Any, name: str, page: Page | None) -> Form:
        fragment = self.fragments.get(name)
        if fragment is None:
            return Form()
        on = self._type(parent, fragment.type_condition.name.value)
        key = (name, getattr(on, "name", None), page, _frozen(self._input))
        if key not in self._forms:
            if key in self._open:
                return Form()
            self._open.add(key)
            self._forms[key] = self.form(on, fragment.selection_set, page)
            self._open.discard(key)
        return self._forms[key]

    def _field(self, parent: Any, field: FieldNode, page: Page | None) -> Form:
        name = field.name.value
        if name.startswith("__"):
            introspection = self._introspection_field(field)
            return Form(fields=1 + introspection, introspection=introspection)
        definition = getattr(parent, "fields", {}).get(name)
        if definition is None:
            return Form(fields=1)
        own = Form(fields=1)
        parent_name = getattr(parent, "name", "")
        arguments = {argument.name.value: argument.value for argument in field.arguments or ()}
        mutation = self.schema is not None and parent is self.schema.mutation_type
        if mutation:
            own.per_group += MUTATION_STATEMENTS
            self._input_nodes, self._input_values = arguments, None
        database = DATABASE_FIELDS.get((parent_name, name))
        if database is not None:
            counts_rows = name == "totalCount" and page is not None and page.filtered
            own.per_group += FILTERED_COUNT_STATEMENTS if counts_rows else database
        if "first" in definition.args or "last" in definition.args:
            own.add(self._connection(parent_name, name, definition, field, arguments))
            if (parent_name, name) in PER_OWNER_CONNECTIONS:
                own.per_object, own.per_group = own.per_object + own.per_group, 0
        else:
            own.add(self._value_form(parent_name, name, definition, field, arguments, page))
        if mutation:
            self._input_nodes, self._input_values = {}, {}
        return own

    def _connection(
        self, parent: str, name: str, definition: Any, field: FieldNode, arguments: Mapping[str, ValueNode]
    ) -> Form:
        """A field with ``first``/``last``: its page of objects (or a list of them) and what is asked of it."""
        child = get_named_type(definition.type)
        sizes = [size for size in (self._int(arguments.get(key)) for key in ("first", "last")) if size is not None]
        size = min(sizes) if sizes else DEFAULT_PAGE
        form = Form(nodes=size)
        if isinstance(get_nullable_type(definition.type), GraphQLList):
            form.add_list(self.form(child, field.selection_set), size)
        else:
            filters = COUNTED_FILTERS.get((parent, name), frozenset())
            filtered = (parent, name) in ALWAYS_COUNTED or any(
                self._value(arguments.get(key)) is not None for key in filters
            )
            form.add(self.form(child, field.selection_set, Page(size, filtered)))
        return form

    def _value_form(
        self,
        parent: str,
        name: str,
        definition: Any,
        field: FieldNode,
        arguments: Mapping[str, ValueNode],
        page: Page | None,
    ) -> Form:
        """Any other field's value: a list (bounded) or one value, objects counted when they are looked up."""
        child = get_named_type(definition.type)
        loads_objects = DATABASE_FIELDS.get((parent, name)) is not None and is_composite_type(child)
        form = Form()
        if isinstance(get_nullable_type(definition.type), GraphQLList):
            bound = self._bound(parent, name, child, arguments, page)
            if "ids" in definition.args or loads_objects:
                form.nodes += bound  # objects looked up, or loaded from the database
            form.add_list(self.form(child, field.selection_set), bound)
        else:
            if loads_objects:
                form.nodes += 1  # an object loaded from the database
            form.add(self.form(child, field.selection_set))
        return form

    def _bound(self, parent: str, name: str, child: Any, arguments: Mapping[str, ValueNode], page: Page | None) -> int:
        if name == "edges" and page is not None:
            return page.size
        if "ids" in arguments:
            ids = self._value(arguments["ids"])
            return len(ids) if isinstance(ids, list) else 1
        if (parent, name) in LIST_BOUNDS:
            return LIST_BOUNDS[parent, name]
        if (parent, name) in INPUT_BOUNDS:
            value: Any = self._input
            for key in INPUT_BOUNDS[parent, name]:
                value = value.get(key) if isinstance(value, Mapping) else None
            if isinstance(value, list):
                return min(len(value), MAX_LIST)
            return 1 if isinstance(value, Mapping) else MAX_LIST  # one item is a list of one (input coercion)
        return ITEM_BOUNDS.get(getattr(child, "name", ""), MAX_LIST)

    # --- introspection -----------------------------------------------------------------------

    def _introspection_field(self, field: FieldNode) -> int:
        """The values under ``__schema``/``__type`` (``__typename`` has none), counted on the schema itself."""
        name, schema = field.name.value, self.schema
        if schema is None or field.selection_set is None:
            return 0
        if name == "__schema":
            return self._introspect("__Schema", schema, field.selection_set)
        if name == "__type":
            argument = next((a.value for a in field.arguments or () if a.name.value == "name"), None)
            found = schema.get_type(value) if isinstance(value := self._value(argument), str) else None
            return self._introspect("__Type", found, field.selection_set) if found is not None else 0
        return 0

    def _introspect(self, kind: str, element: Any, selection_set: SelectionSetNode) -> int:
        """Values of ``selection_set`` on one introspection object (memoized per selection and object)."""
        key = (id(selection_set), id(element))
        known = self._introspected.get(key)
        if known is not None:
            return known
        if key in self._open:
            return 0
        budget = self.introspection_budget
        self._steps += len(selection_set.selections)
        if budget is not None and self._steps > budget * INTROSPECTION_STEPS_PER_FIELD:
            raise TooLarge  # fragments spreading fragments: too much work to measure, whatever the total
        self._open.add(key)
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._introspect_field(kind, element, selection)
            elif isinstance(selection, InlineFragmentNode):
                total += self._introspect(kind, element, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    total += self._introspect(kind, element, fragment.selection_set)
        self._open.discard(key)
        self._introspected[key] = total
        return total

    def _introspect_field(self, kind: str, element: Any, selection: FieldNode) -> int:
        """Values of one field of an introspection object: itself, and what it holds."""
        # Every (selection, object) measured is in the answer at least once, so the fields measured
        # are a lower bound of the total: past the budget, the total is too.
        self._measured += 1
        if self.introspection_budget is not None and self._measured > self.introspection_budget:
            raise TooLarge
        if selection.selection_set is None:
            if kind == "__Directive" and selection.name.value == "locations":
                return 1 + len(element.locations)
            return 1
        children = _introspection_children(self.schema, kind, element, selection.name.value)
        return 1 + sum(self._introspect(child_kind, child, selection.selection_set) for child_kind, child in children)

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


def _frozen(value: Any) -> Any:
    """A hashable copy of argument values (a fragment's cost may depend on the mutation's input)."""
    if isinstance(value, Mapping):
        return tuple(sorted((key, _frozen(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("list", len(value))  # only lengths bound anything
    return value if isinstance(value, str | int | float | bool | type(None)) else repr(value)


def _introspection_children(schema: Any, kind: str, element: Any, name: str) -> list[tuple[str, Any]]:
    """The introspection objects ``name`` holds on ``element`` (an object of type ``kind``), as the schema has them."""
    if kind == "__Schema":
        return _schema_children(schema, name)
    if kind == "__Type":
        return _type_children(schema, element, name)
    if kind in ("__Field", "__Directive") and name == "args":
        return [("__InputValue", a) for a in element.args.values()]
    if kind in ("__Field", "__InputValue") and name == "type":
        return [("__Type", element.type)]
    return []


_ROOT_TYPES = {"queryType": "query_type", "mutationType": "mutation_type", "subscriptionType": "subscription_type"}


def _schema_children(schema: Any, name: str) -> list[tuple[str, Any]]:
    if name == "types":
        return [("__Type", t) for t in schema.type_map.values()]
    if name == "directives":
        return [("__Directive", d) for d in schema.directives]
    root = getattr(schema, _ROOT_TYPES[name]) if name in _ROOT_TYPES else None
    return [("__Type", root)] if root is not None else []


def _type_children(schema: Any, element: Any, name: str) -> list[tuple[str, Any]]:
    has_fields = is_object_type(element) or is_interface_type(element)
    if name == "fields" and has_fields:
        return [("__Field", f) for f in element.fields.values()]
    if name == "interfaces" and has_fields:
        return [("__Type", t) for t in element.interfaces]
    if name == "possibleTypes" and is_abstract_type(element):
        return [("__Type", t) for t in schema.get_possible_types(element)]
    if name == "enumValues" and is_enum_type(element):
        return [("__EnumValue", v) for v in element.values.values()]
    if name == "inputFields" and is_input_object_type(element):
        return [("__InputValue", f) for f in element.fields.values()]
    if name == "ofType" and is_wrapping_type(element):
        return [("__Type", element.of_type)]
    return []


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _too_complex(message: str, node: OperationDefinitionNode | None, **extensions: int) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": QUERY_TOO_COMPLEX, **extensions})


class QueryDepthRule(ValidationRule):
    """Refuses an operation nested deeper than ``LEDGER_MAX_DEPTH`` fields."""

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.estimate = QueryEstimate(_fragments(self.context.document))

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


def estimate_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    reads: set[str] | None = None,
) -> Cost | GraphQLError:
    """The operation's ``Cost``, or the QUERY_TOO_COMPLEX error when it cannot even be measured within bounds.

    Cheap enough for every request (one pass over the operation and the
    fragments it spreads, some microseconds for a transfer), unlike a full
    ``validate`` pass, which would walk the whole document with type info.
    ``reads``, when given, receives the names of the variables the estimate
    looked at (``ALL_VARIABLES`` if it looked at them all): the cost is a
    function of the document and those values alone, which is what lets a
    stored document's cost be memoized (``trusted.store``).
    """
    limit = settings.LEDGER_MAX_INTROSPECTION
    estimate = QueryEstimate(_fragments(document), schema, variables, operation, introspection_budget=limit)
    if reads is not None:
        estimate.variables = VariableReads(estimate.variables, reads)
    try:
        return estimate.cost(operation)
    except TooLarge:
        message = f"The query may return over {limit} introspection fields."
        return _too_complex(message, operation, introspection=limit + 1, maxIntrospection=limit)
    except RecursionError:  # validation bounds nesting at 200 levels, so this is belt and braces
        return _too_complex("The query nests too deeply to estimate.", operation, maxNodes=settings.LEDGER_MAX_NODES)


def cost_limit_error(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
) -> GraphQLError | None:
    """The QUERY_TOO_COMPLEX error when ``operation`` is over a limit (nodes, statements, fields), else None."""
    cost = estimate_cost(schema, document, operation, variables)
    return cost if isinstance(cost, GraphQLError) else cost.refusal(operation)


def cost_limit_rule(variables: Mapping[str, Any] | None, operation_name: str | None) -> type[ValidationRule]:
    """``cost_limit_error`` as a validation rule, for callers that validate with graphql-core."""

    class CostLimitRule(ValidationRule):
        """Refuses an operation over the node, statement or field limit."""

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> VisitorAction:
            if operation_name is None or (node.name is not None and node.name.value == operation_name):
                error = cost_limit_error(self.context.schema, self.context.document, node, variables)
                if error is not None:
                    self.report_error(error)
            return SKIP

        def enter_fragment_definition(self, *_args: Any) -> VisitorAction:
            return SKIP  # measured where spread

    return CostLimitRule
