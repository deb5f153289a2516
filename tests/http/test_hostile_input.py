"""Hostile input over HTTP (issue 9): refused where it is parsed, with a coded error, and nothing written.

Class 7: a NUL or a lone surrogate in any String argument answers
BAD_USER_INPUT at its field, in any mutation input field INVALID_INPUT naming
the field; a DateTime whose offset overflows the calendar answers
BAD_USER_INPUT. Before the fix each of these reached PostgreSQL and came back
INTERNAL. Class 6 over the wire: look-alike digits are never read as digits.
Every case is sent both as an inline literal and as a variable, through the
real view.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, timedelta, timezone
from typing import Any

import pytest
from django.test import Client
from graphql import GraphQLObjectType, GraphQLString

from access.services import api_key_create
from accounts.models import Account
from audit.models import AuditEvent
from core.errors import ErrorCode
from core.graphql.node import global_id
from core.graphql.scalars import parse_instant
from ledger_project.schema import schema
from tests.factories import make_account
from tests.http.conftest import Api, codes, user_with
from transactions.models import Entry, Transaction
from transactions.services import TransferSpec, transfer_create

pytestmark = pytest.mark.django_db

NUL = "a\u0000b"
SURROGATE = "a\ud800b"
HOSTILE = [pytest.param(NUL, id="nul"), pytest.param(SURROGATE, id="lone-surrogate")]


FULL_WIDTH, ARABIC_INDIC = 0xFF10, 0x0660  # the code points of each script's digit zero


def lookalike(text: str, zero: int = FULL_WIDTH, only: str = "0123456789") -> str:
    """``text`` with the ASCII digits in ``only`` written in another script's digits."""
    return text.translate({ord(d): zero + int(d) for d in only})


def literal(text: str) -> str:
    """``text`` as a GraphQL string literal (JSON escapes are GraphQL escapes), e.g. "a\\u0000b"."""
    return json.dumps(text)


def counts() -> tuple[int, int, int, int]:
    return Account.objects.count(), Transaction.objects.count(), Entry.objects.count(), AuditEvent.objects.count()


@pytest.fixture
def books(api: Api) -> dict[str, str]:
    """Two funded accounts and a completed PIX, as global IDs."""
    alice, bob = make_account(100_000, name="Alice"), make_account(100_000, name="Bob")
    result = transfer_create(spec=TransferSpec(alice.pk, bob.pk, 1_000, "PIX"))
    assert result.transaction is not None
    return {
        "alice": global_id("Account", alice.pk),
        "bob": global_id("Account", bob.pk),
        "pix": global_id("Transaction", result.transaction.pk),
    }


@pytest.fixture
def frozen(books: dict[str, str]) -> Iterator[dict[str, str]]:
    """``books``, and afterwards the proof that the test's requests wrote nothing but their refusals' audit events."""
    before, last = counts(), AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    yield books
    assert counts()[:3] == before[:3], "a refused request wrote something"
    outcomes = set(AuditEvent.objects.filter(pk__gt=last).values_list("outcome", flat=True))
    assert outcomes <= set(ErrorCode), f"a refused request recorded {outcomes}"


def no_internal(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    assert all(error["extensions"]["code"] != "INTERNAL" for error in body.get("errors", [])), body
    return body


# --- Query arguments: BAD_USER_INPUT at the field ---------------------------------------------------

QUERY_ARGUMENTS = [
    ("accounts", "search", "String", "{ accounts(search: %s) { totalCount } }"),
    ("accounts", "after", "String", "{ accounts(after: %s) { totalCount } }"),
    ("accounts", "before", "String", "{ accounts(last: 2, before: %s) { totalCount } }"),
    ("transactions", "after", "String", "{ transactions(after: %s) { totalCount } }"),
]


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize(("field", "argument", "kind", "query"), QUERY_ARGUMENTS)
def test_refused_text_in_a_query_argument_is_bad_user_input_as_variable(
    api: Api, frozen: dict[str, str], field: str, argument: str, kind: str, query: str, text: str
) -> None:
    document = f"query($v: {kind}) " + query % "$v"
    body = no_internal(api.post(document, {"v": text}))
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}
    assert error["path"] == [field]


@pytest.mark.parametrize(("field", "argument", "kind", "query"), QUERY_ARGUMENTS)
def test_a_nul_in_a_query_argument_literal_is_bad_user_input(
    api: Api, frozen: dict[str, str], field: str, argument: str, kind: str, query: str
) -> None:
    body = no_internal(api.post(query % literal(NUL)))
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}
    assert error["path"] == [field]


def test_a_lone_surrogate_escape_in_a_literal_does_not_parse(api: Api, frozen: dict[str, str]) -> None:
    """GraphQL itself refuses "\\ud800" in a document: a parse error, never a query."""
    assert codes(api.post('{ accounts(search: "a\\ud800b") { totalCount } }')) == ["GRAPHQL_PARSE_FAILED"]
    raw = no_internal(api.post("{ accounts(search: " + '"a\ud800b"' + ") { totalCount } }"))
    assert [error["extensions"]["code"] for error in raw["errors"]] == ["GRAPHQL_PARSE_FAILED"]


@pytest.mark.parametrize("text", HOSTILE)
def test_refused_text_in_a_nested_field_argument_is_refused_at_that_field(
    api: Api, frozen: dict[str, str], text: str
) -> None:
    query = "query($id: ID!, $v: String) { account(id: $id) { name transactions(after: $v) { totalCount } } }"
    body = no_internal(api.post(query, {"id": frozen["alice"], "v": text}))
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}
    assert error["path"] == ["account", "transactions"]
    assert body["data"] == {"account": None}  # the connection is non-null: its parent answers null


def cursor(tag: str, *values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps([tag, list(values)]).encode()).decode()


@pytest.mark.parametrize(
    ("order", "crafted"),
    [
        ("orderBy: {field: NAME, direction: ASC}", cursor("accounts:name:asc", NUL, 1)),
        ("orderBy: {field: NAME, direction: ASC}", cursor("accounts:name:asc", SURROGATE, 1)),
        ("", cursor("accounts:created_at:asc", "9999-12-31T23:59:59-23:59", 1)),
        ("", cursor("accounts:created_at:asc", "0001-01-01T00:00:00+23:59", 1)),
    ],
)
def test_a_crafted_cursor_carrying_hostile_values_is_bad_user_input(
    api: Api, frozen: dict[str, str], order: str, crafted: str
) -> None:
    """The cursor text is clean base64; what it decodes to obeys the scalars' rules all the same."""
    query = f"query($c: String) {{ accounts({order}{', ' if order else ''}after: $c) {{ totalCount }} }}"
    body = no_internal(api.post(query, {"c": crafted}))
    assert [error["extensions"] for error in body["errors"]] == [{"code": "BAD_USER_INPUT", "argument": "after"}]


@pytest.mark.parametrize("text", HOSTILE)
def test_an_id_carrying_refused_text_is_a_malformed_id_and_answers_null(
    api: Api, frozen: dict[str, str], text: str
) -> None:
    """CONTRACT.md, IDs: a malformed ID answers null, never an error; it never resolves an object either."""
    query = "query($id: ID!, $ids: [ID!]!) { node(id: $id) { id } account(id: $id) { id } nodes(ids: $ids) { id } }"
    almost = frozen["alice"] + text  # base64 would skip the junk and find Account:N
    body = no_internal(api.post(query, {"id": almost, "ids": [almost, frozen["bob"]]}))
    assert "errors" not in body, body
    assert body["data"] == {"node": None, "account": None, "nodes": [None, {"id": frozen["bob"]}]}


def test_a_nul_in_an_introspection_argument_is_harmless(api: Api) -> None:
    body = no_internal(api.post("query($n: String!) { __type(name: $n) { name } }", {"n": "Account\u0000"}))
    assert body["data"] == {"__type": None}


# --- DateTime at the calendar's edges: BAD_USER_INPUT ------------------------------------------------

OVERFLOWING = [
    pytest.param("9999-12-31T23:59:59-23:59", id="past-year-9999"),
    pytest.param("0001-01-01T00:00:00+23:59", id="before-year-1"),
    pytest.param("9999-12-31T20:00:00-04:00", id="year-10000-at-midnight"),
]
DATETIME_ARGUMENTS = [
    "transactions(createdAfter: %s) { totalCount }",
    "transactions(createdBefore: %s) { totalCount }",
    "account(id: $id) { balanceAt(at: %s) entries(until: %s) { totalCount } }",
]


@pytest.mark.parametrize("instant", OVERFLOWING)
@pytest.mark.parametrize("selection", DATETIME_ARGUMENTS)
def test_a_datetime_whose_offset_overflows_is_bad_user_input(
    api: Api, frozen: dict[str, str], selection: str, instant: str
) -> None:
    uses_id = "$id" in selection
    variables = {"id": frozen["alice"]} if uses_id else {}
    declared = "$id: ID!, " if uses_id else ""
    as_variable = no_internal(
        api.post(f"query({declared}$t: DateTime!) {{ {selection.replace('%s', '$t')} }}", {**variables, "t": instant})
    )
    inline = selection.replace("%s", literal(instant))
    as_literal = no_internal(api.post(f"query{'($id: ID!)' if uses_id else ''} {{ {inline} }}", variables))
    for body in (as_variable, as_literal):
        assert body["errors"] and {error["extensions"]["code"] for error in body["errors"]} == {"BAD_USER_INPUT"}
        assert "data" not in body  # refused where it is parsed: nothing ran


@pytest.mark.parametrize(
    "text", [lookalike("2026-11-24") + "T12:00:00+00:00", "2026-11-24T12:00:00+0" + lookalike("3:00", ARABIC_INDIC)]
)
def test_a_datetime_with_look_alike_digits_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_instant(text)


def test_the_calendars_last_and_first_instants_are_still_answered(api: Api, books: dict[str, str]) -> None:
    query = """query($id: ID!) {
      transactions(createdAfter: "0001-01-01T00:00:00Z", createdBefore: "9999-12-31T23:59:59.999999Z") { totalCount }
      account(id: $id) { balanceAt(at: "9999-12-31T23:59:59.999999+00:00")
        entries(since: "0001-01-01T00:00:00+00:00", until: "9999-12-31T23:59:59.999999Z") { totalCount } }
    }"""
    data = api.data(query, {"id": books["alice"]})
    assert data["transactions"]["totalCount"] == 3  # two opening deposits and the PIX
    assert data["account"] == {"balanceAt": "990.00", "entries": {"totalCount": 2}}


def test_an_offset_is_read_as_the_same_instant_in_utc(api: Api, books: dict[str, str]) -> None:
    """The offset stops at the scalar, which hands on the same instant in UTC: both spellings select alike."""
    latest = Transaction.objects.order_by("-created_at", "-pk").first()
    assert latest is not None
    just_before = latest.created_at - timedelta(microseconds=1)
    in_brasilia = just_before.astimezone(timezone(timedelta(hours=-3))).isoformat()
    in_utc = just_before.astimezone(UTC).isoformat()
    assert in_brasilia.endswith("-03:00") and in_utc.endswith("+00:00")
    query = "query($t: DateTime!) { transactions(createdAfter: $t) { totalCount } }"
    assert api.data(query, {"t": in_brasilia}) == api.data(query, {"t": in_utc}) == {"transactions": {"totalCount": 1}}


# --- Mutation input fields: INVALID_INPUT in the payload, naming the field ----------------------------

PIX = {"senderAccount": "alice", "receiverAccount": "bob", "amount": "1.00", "type": "PIX"}
MUTATIONS = [
    # (mutation, its input with one field HOSTILE, that field's name in the input type)
    ("createAccount", {"name": "HOSTILE", "document": "11.222.333/0001-81", "balance": "5.00"}, "name"),
    ("createAccount", {"name": "Ana", "document": "HOSTILE"}, "document"),
    ("createTransaction", {**PIX, "description": "HOSTILE"}, "description"),
    ("createTransaction", {**PIX, "idempotencyKey": "HOSTILE"}, "idempotencyKey"),
    ("createTransactions", {"transactions": [PIX, {**PIX, "description": "HOSTILE"}]}, "description"),
    ("createTransactions", {"transactions": [PIX], "clientMutationId": "HOSTILE"}, "clientMutationId"),
    ("createDeposit", {"accountId": "alice", "amount": "1.00", "description": "HOSTILE"}, "description"),
    ("createDeposit", {"accountId": "alice", "amount": "1.00", "idempotencyKey": "HOSTILE"}, "idempotencyKey"),
    ("reverseTransaction", {"transactionId": "pix", "description": "HOSTILE"}, "description"),
    ("reverseTransaction", {"transactionId": "pix", "idempotencyKey": "HOSTILE"}, "idempotencyKey"),
    ("cancelTransaction", {"transactionId": "pix", "clientMutationId": "HOSTILE"}, "clientMutationId"),
]
INPUT_TYPES = {
    "createAccount": "CreateAccountInput",
    "createTransaction": "CreateTransactionInput",
    "createDeposit": "CreateDepositInput",
    "reverseTransaction": "ReverseTransactionInput",
    "createTransactions": "CreateTransactionsInput",
    "cancelTransaction": "CancelTransactionInput",
}


def filled(value: Any, ids: dict[str, str], text: str) -> Any:
    """The input with global IDs for the names above and ``text`` in the hostile field."""
    if isinstance(value, dict):
        return {key: filled(item, ids, text) for key, item in value.items()}
    if isinstance(value, list):
        return [filled(item, ids, text) for item in value]
    if value == "HOSTILE":
        return text
    return ids.get(value, value)


def as_literal(value: Any) -> str:
    """A JSON-ish value as a GraphQL input literal (PIX stays an enum)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {as_literal(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(as_literal(item) for item in value) + "]"
    return value if value == "PIX" else literal(value)


def payload_of(body: dict[str, Any], mutation: str) -> dict[str, Any]:
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][mutation]
    return payload


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize(("mutation", "template", "field"), MUTATIONS)
def test_refused_text_in_a_mutation_input_is_invalid_input_as_variable(
    api: Api, frozen: dict[str, str], mutation: str, template: dict[str, Any], field: str, text: str
) -> None:
    document = (
        f"mutation($input: {INPUT_TYPES[mutation]}!) {{ {mutation}(input: $input) "
        "{ clientMutationId errors { code field message } } }"
    )
    payload = payload_of(no_internal(api.post(document, {"input": filled(template, frozen, text)})), mutation)
    (error,) = payload["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", field)
    assert payload["clientMutationId"] is None or field != "clientMutationId"


@pytest.mark.parametrize(("mutation", "template", "field"), MUTATIONS)
def test_a_nul_in_a_mutation_input_literal_is_invalid_input(
    api: Api, frozen: dict[str, str], mutation: str, template: dict[str, Any], field: str
) -> None:
    document = (
        f"mutation {{ {mutation}(input: {as_literal(filled(template, frozen, NUL))}) {{ errors {{ code field }} }} }}"
    )
    payload = payload_of(no_internal(api.post(document)), mutation)
    assert payload["errors"] == [{"code": "INVALID_INPUT", "field": field}]


def test_a_hostile_field_variable_inside_an_input_literal_is_invalid_input(api: Api, frozen: dict[str, str]) -> None:
    document = (
        'mutation($name: String!) { createAccount(input: {name: $name, document: "11.222.333/0001-81"}) '
        "{ account { id } errors { code field } } }"
    )
    payload = payload_of(no_internal(api.post(document, {"name": NUL})), "createAccount")
    assert payload == {"account": None, "errors": [{"code": "INVALID_INPUT", "field": "name"}]}


def test_an_id_carrying_refused_text_in_a_mutation_is_account_not_found(api: Api, frozen: dict[str, str]) -> None:
    document = "mutation($input: CreateDepositInput!) { createDeposit(input: $input) { errors { code field } } }"
    variables = {"input": {"accountId": frozen["alice"] + "\u0000", "amount": "1.00"}}
    payload = payload_of(no_internal(api.post(document, variables)), "createDeposit")
    assert payload["errors"] == [{"code": "ACCOUNT_NOT_FOUND", "field": "accountId"}]


def test_permission_is_still_asked_first(books: dict[str, str]) -> None:
    """A caller without the permission learns nothing about its input: PERMISSION_DENIED, as ever."""
    _, token = api_key_create(user=user_with("accounts.view_account"))
    before = counts()
    document = 'mutation($n: String!) { createAccount(input: {name: $n, document: "52998224725"}) { errors { code } } }'
    payload = payload_of(no_internal(Api(Client(), token).post(document, {"n": NUL})), "createAccount")
    assert payload["errors"] == [{"code": "PERMISSION_DENIED"}]
    assert counts() == (*before[:3], before[3] + 1)  # nothing but the refusal's audit event


# --- Class 6 over the wire: look-alike digits ------------------------------------------------------


def test_a_full_width_cpf_does_not_open_a_second_account(api: Api, books: dict[str, str]) -> None:
    first = 'mutation { createAccount(input: {name: "Ana", document: "529.982.247-25"}) { errors { code } } }'
    assert api.data(first)["createAccount"]["errors"] == []
    before = counts()
    for raw in (
        lookalike("529.982.247-25"),
        lookalike("52998224725", ARABIC_INDIC),
        lookalike("52998224725", only="7"),
    ):
        document = (
            'mutation($d: String!) { createAccount(input: {name: "Ana 2", document: $d}) { errors { code field } } }'
        )
        payload = payload_of(no_internal(api.post(document, {"d": raw})), "createAccount")
        assert payload["errors"] == [{"code": "INVALID_DOCUMENT", "field": "document"}]
    assert counts()[:3] == before[:3]  # no account, no money (the rejections are audited)
    assert Account.objects.filter(document="52998224725").count() == 1


@pytest.mark.parametrize(
    "amount", [lookalike("1"), lookalike("3", ARABIC_INDIC), lookalike("10.00", only="0"), "\u00a01", "1\u3000"]
)
def test_look_alike_digits_move_no_money(api: Api, books: dict[str, str], amount: str) -> None:
    deposit = (
        "mutation($a: Decimal!, $id: ID!) { createDeposit(input: {accountId: $id, amount: $a}) "
        "{ errors { code field } } }"
    )
    transfer = (
        "mutation($a: Decimal!, $id: ID!, $to: ID!) { createTransaction(input: {senderAccount: $id, "
        "receiverAccount: $to, amount: $a, type: PIX}) { errors { code field } } }"
    )
    before = counts()
    for mutation, document in (("createDeposit", deposit), ("createTransaction", transfer)):
        variables = {"a": amount, "id": books["alice"], "to": books["bob"]}
        payload = payload_of(no_internal(api.post(document, variables)), mutation)
        assert payload["errors"] == [{"code": "INVALID_AMOUNT", "field": "amount"}]
    input_literal = f"{{accountId: {literal(books['alice'])}, amount: {literal(amount)}}}"
    inline = f"mutation {{ createDeposit(input: {input_literal}) {{ errors {{ code }} }} }}"
    assert payload_of(no_internal(api.post(inline)), "createDeposit")["errors"] == [{"code": "INVALID_AMOUNT"}]
    # An amount the mutation cannot read never reaches a service: only the three refusals' audit events.
    assert counts() == (*before[:3], before[3] + 3)


# --- The mechanism: one rule, on every path ------------------------------------------------------------


def test_every_field_with_arguments_passes_the_text_rule() -> None:
    """A field added later is covered without a line of its own: the schema walk wraps it."""
    graphql_schema = schema.graphql_schema
    assert getattr(GraphQLString.parse_value, "ledger_text_rule", False)
    assert getattr(GraphQLString.parse_literal, "ledger_text_rule", False)
    unguarded = [
        f"{type_name}.{name}"
        for type_name, graphql_type in graphql_schema.type_map.items()
        if isinstance(graphql_type, GraphQLObjectType) and graphql_type is not graphql_schema.mutation_type
        for name, field in graphql_type.fields.items()
        if field.args and not getattr(field.resolve, "ledger_text_rule", False)
    ]
    assert unguarded == []
