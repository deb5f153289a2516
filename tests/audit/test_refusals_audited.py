"""Every refusal of every mutation has exactly one audit event, whichever layer refused it.

The mutations are read from the schema, so a mutation added later is covered
without a line here: its required input is built from its input type.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
)

from accounts.models import Account
from audit.models import AuditEvent
from ledger_project.schema import schema
from tests.factories import make_account
from tests.graphql.conftest import Gql, gid, user_with
from transactions.models import Transaction
from transactions.services import TransferSpec, transfer_create

MUTATIONS = sorted(schema.graphql_schema.mutation_type.fields)


def input_type(name: str) -> GraphQLInputObjectType:
    field = schema.graphql_schema.mutation_type.fields[name]
    kind = field.args["input"].type
    assert isinstance(kind, GraphQLNonNull) and isinstance(kind.of_type, GraphQLInputObjectType)
    return kind.of_type


def sample(kind: GraphQLInputType, name: str, ids: dict[str, str], amount: str) -> Any:
    """A value of ``kind`` for the input field ``name``: only its required fields, filled plainly."""
    if isinstance(kind, GraphQLNonNull):
        return sample(kind.of_type, name, ids, amount)
    if isinstance(kind, GraphQLList):
        return [sample(kind.of_type, name, ids, amount)]
    if isinstance(kind, GraphQLInputObjectType):
        return {
            key: sample(field.type, key, ids, amount)
            for key, field in kind.fields.items()
            if isinstance(field.type, GraphQLNonNull)
        }
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    assert isinstance(kind, GraphQLScalarType), kind
    return {
        "ID": ids["transaction"] if "transaction" in name.lower() else ids["account"],
        "Decimal": amount,
        "String": "x",
        "Int": 1,
        "Boolean": False,
        "DateTime": "2030-01-01T00:00:00+00:00",
    }[kind.name]


def takes_amount(kind: GraphQLInputType) -> bool:
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    if isinstance(kind, GraphQLInputObjectType):
        return any(takes_amount(field.type) for field in kind.fields.values() if isinstance(field.type, GraphQLNonNull))
    return isinstance(kind, GraphQLScalarType) and kind.name == "Decimal"


def run(client: Gql, name: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Runs mutation ``name`` and returns its payload's errors and the audit events it wrote."""
    document = f"mutation($input: {input_type(name).name}!) {{ {name}(input: $input) {{ errors {{ code field }} }} }}"
    return list(client(document, input=data)[name]["errors"])


def only_event(name: str, before: int) -> AuditEvent:
    events = list(AuditEvent.objects.filter(pk__gt=before).order_by("pk"))
    assert [event.action for event in events] == [name], [str(e) for e in events]
    return events[0]


@pytest.fixture
def objects(settlement: Account) -> dict[str, str]:
    alice, bob = make_account(10_000, name="Alice"), make_account(10_000, name="Bob")
    result = transfer_create(spec=TransferSpec(alice.pk, bob.pk, 100, "PIX"))
    assert isinstance(result.transaction, Transaction)
    return {"account": gid(alice), "transaction": gid(result.transaction)}


def last_event() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


class ReadOnlyKey:
    read_only = True


@pytest.mark.parametrize("name", MUTATIONS)
@pytest.mark.parametrize("who", ["no permission", "read-only key"])
def test_a_permission_refusal_is_audited_once(objects: dict[str, str], name: str, who: str) -> None:
    if who == "read-only key":
        superuser = user_with()
        superuser.is_superuser = True
        superuser.save()
        client = Gql(superuser, api_key=ReadOnlyKey())
    else:
        client = Gql(user_with())
    before = last_event()
    errors = run(client, name, sample(input_type(name), name, objects, "1.00"))
    assert [error["code"] for error in errors] == ["PERMISSION_DENIED"]
    event = only_event(name, before)
    assert event.outcome == "PERMISSION_DENIED"
    assert event.actor_id == client.user.pk and event.payload["error"]["code"] == "PERMISSION_DENIED"


@pytest.mark.parametrize("name", MUTATIONS)
def test_refused_text_in_an_input_is_audited_once_and_not_kept(
    objects: dict[str, str], superuser: Any, name: str
) -> None:
    data = {**sample(input_type(name), name, objects, "1.00"), "clientMutationId": "evil\x00"}
    before = last_event()
    errors = run(Gql(superuser), name, data)
    assert errors == [{"code": "INVALID_INPUT", "field": "clientMutationId"}]
    event = only_event(name, before)
    assert event.outcome == "INVALID_INPUT" and "\x00" not in str(event.payload)


@pytest.mark.parametrize("name", [name for name in MUTATIONS if takes_amount(input_type(name))])
def test_an_amount_the_mutation_cannot_read_is_audited_once(objects: dict[str, str], superuser: Any, name: str) -> None:
    before = last_event()
    errors = run(Gql(superuser), name, sample(input_type(name), name, objects, "1.234"))
    event = only_event(name, before)
    if errors:  # a batch answers per item; its one event is the request's
        assert errors[0]["code"] == "INVALID_AMOUNT" and event.outcome == "INVALID_AMOUNT"


@pytest.mark.parametrize("name", MUTATIONS)
def test_an_unknown_id_or_any_other_refusal_is_audited_once(settlement: Account, superuser: Any, name: str) -> None:
    unknown = {"account": "QWNjb3VudDo5OTk5OTk=", "transaction": "VHJhbnNhY3Rpb246OTk5OTk5"}
    before = last_event()
    errors = run(Gql(superuser), name, sample(input_type(name), name, unknown, "1.00"))
    event = only_event(name, before)
    if errors:
        assert event.outcome == errors[0]["code"]


@pytest.mark.parametrize("name", MUTATIONS)
def test_a_refusals_event_keeps_the_operations_input_as_the_client_sent_it(
    settlement: Account, superuser: Any, name: str
) -> None:
    """records.md: an event's detail is the operation's input and result, whichever layer refused it."""
    unknown = {"account": "QWNjb3VudDo5OTk5OTk=", "transaction": "VHJhbnNhY3Rpb246OTk5OTk5"}
    data = {**sample(input_type(name), name, unknown, "1.00"), "clientMutationId": "req-1"}
    before = last_event()
    run(Gql(superuser), name, data)
    assert only_event(name, before).payload["input"] == with_defaults(input_type(name), data)


def with_defaults(kind: GraphQLInputType, value: Any) -> Any:
    """``value`` as the operation receives it: the input type's defaults filled in (captureMode, atomic)."""
    if isinstance(kind, GraphQLNonNull):
        return with_defaults(kind.of_type, value)
    if isinstance(kind, GraphQLList):
        return [with_defaults(kind.of_type, item) for item in value]
    if isinstance(kind, GraphQLInputObjectType):
        defaults = {key: f.default_value for key, f in kind.fields.items() if f.default_value is not Undefined}
        return {**defaults, **{key: with_defaults(kind.fields[key].type, item) for key, item in value.items()}}
    return value


@pytest.mark.parametrize("name", ["createAccount", "updateAccount"])
def test_refused_text_is_kept_in_the_input_as_a_marker_never_as_text(
    objects: dict[str, str], superuser: Any, name: str
) -> None:
    data = {**sample(input_type(name), name, objects, "1.00"), "name": "Ana\x00"}
    before = last_event()
    assert run(Gql(superuser), name, data) == [{"code": "INVALID_INPUT", "field": "name"}]
    assert only_event(name, before).payload["input"] == {**data, "name": "<refused text>"}


def test_every_mutation_audits_under_its_field_name() -> None:
    from core.graphql.mutations import LedgerMutation

    fields = schema.graphql_schema.mutation_type.fields
    for name, field in fields.items():
        mutation = field.resolve.__self__
        assert issubclass(mutation, LedgerMutation) and mutation.action == name
