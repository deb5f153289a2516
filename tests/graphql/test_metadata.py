"""Metadata on accounts and transactions (records.md, Metadata): the rules, the filters, immutability, updateAccount."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.models import Account
from audit.models import AuditEvent
from core.graphql.node import decode_id
from tests.factories import make_account
from tests.graphql.conftest import Gql, gid
from transactions.models import Transaction
from transactions.services import account_close

pytestmark = pytest.mark.django_db

LABELS = [{"key": "pix.e2e", "value": "E123"}, {"key": "cost_centre", "value": "ops-7"}, {"key": "A-1", "value": ""}]

CREATE_ACCOUNT = """mutation($m: [MetadataEntryInput!]) {
  createAccount(input: {name: "Ana", document: "529.982.247-25", metadata: $m}) {
    account { id metadata { key value } } errors { code field } } }"""
CREATE_TRANSACTION = """mutation($from: ID!, $to: ID!, $m: [MetadataEntryInput!], $k: String) {
  createTransaction(input: {senderAccount: $from, receiverAccount: $to, amount: "1.00", type: PIX,
    idempotencyKey: $k, metadata: $m}) { transaction { id metadata { key value } } errors { code field } } }"""
CREATE_TRANSACTIONS = """mutation($from: ID!, $to: ID!, $m: [MetadataEntryInput!]) {
  createTransactions(input: {transactions: [{senderAccount: $from, receiverAccount: $to, amount: "1.00",
    type: PIX, metadata: $m}]}) { results { transaction { id metadata { key value } } errors { code field } } } }"""
CREATE_DEPOSIT = """mutation($to: ID!, $m: [MetadataEntryInput!]) {
  createDeposit(input: {accountId: $to, amount: "1.00", metadata: $m}) {
    transaction { id metadata { key value } } errors { code field } } }"""
UPDATE = """mutation($id: ID!, $name: String, $m: [MetadataEntryInput!]) {
  updateAccount(input: {accountId: $id, name: $name, metadata: $m}) {
    account { id name metadata { key value } } errors { code field } } }"""


@pytest.fixture
def pair(settlement: Account) -> tuple[Account, Account]:
    return make_account(100_000, name="Alice"), make_account(100_000, name="Bob")


def created(gql: Gql, mutation: str, pair: tuple[Account, Account], labels: Any) -> dict[str, Any]:
    """The payload part of each creating mutation: ``{"object": ..., "errors": [...]}``."""
    alice, bob = pair
    variables = {"from": gid(alice), "to": gid(bob), "m": labels}
    if mutation == "createAccount":
        data = gql(CREATE_ACCOUNT, m=labels)["createAccount"]
        return {"object": data["account"], "errors": data["errors"]}
    if mutation == "createTransaction":
        data = gql(CREATE_TRANSACTION, **variables)["createTransaction"]
    elif mutation == "createDeposit":
        data = gql(CREATE_DEPOSIT, to=gid(bob), m=labels)["createDeposit"]
    else:
        (data,) = gql(CREATE_TRANSACTIONS, **variables)["createTransactions"]["results"]
    return {"object": data["transaction"], "errors": data["errors"]}


CREATORS = ["createAccount", "createTransaction", "createTransactions", "createDeposit"]


@pytest.mark.parametrize("mutation", CREATORS)
def test_metadata_is_kept_in_the_order_given(gql: Gql, pair: Any, mutation: str) -> None:
    answer = created(gql, mutation, pair, LABELS)
    assert answer["errors"] == [] and answer["object"]["metadata"] == LABELS


@pytest.mark.parametrize("mutation", CREATORS)
def test_no_metadata_reads_as_an_empty_list(gql: Gql, pair: Any, mutation: str) -> None:
    assert created(gql, mutation, pair, None)["object"]["metadata"] == []


BAD = {
    "21 entries": [{"key": f"k{i}", "value": "v"} for i in range(21)],
    "empty key": [{"key": "", "value": "v"}],
    "41-character key": [{"key": "k" * 41, "value": "v"}],
    "space in key": [{"key": "a b", "value": "v"}],
    "non-ASCII key": [{"key": "ção", "value": "v"}],
    "501-character value": [{"key": "k", "value": "v" * 501}],
    "key twice": [{"key": "k", "value": "1"}, {"key": "k", "value": "2"}],
}


@pytest.mark.parametrize("mutation", CREATORS)
@pytest.mark.parametrize("labels", BAD.values(), ids=BAD.keys())
def test_metadata_breaking_a_rule_is_invalid_input_and_records_nothing(
    gql: Gql, pair: Any, mutation: str, labels: Any
) -> None:
    before = Account.objects.count(), Transaction.objects.count()
    answer = created(gql, mutation, pair, labels)
    assert answer["object"] is None
    assert answer["errors"] == [{"code": "INVALID_INPUT", "field": "metadata"}]
    assert (Account.objects.count(), Transaction.objects.count()) == before


def test_twenty_entries_forty_character_keys_and_500_character_values_are_accepted(gql: Gql, pair: Any) -> None:
    labels = [{"key": f"{i:02d}" + "k" * 38, "value": "v" * 500} for i in range(20)]
    assert created(gql, "createTransaction", pair, labels)["object"]["metadata"] == labels


def test_metadata_is_part_of_the_idempotency_fingerprint(gql: Gql, pair: Any) -> None:
    alice, bob = pair
    first = gql(CREATE_TRANSACTION, **{"from": gid(alice), "to": gid(bob), "m": LABELS, "k": "k-1"})
    again = gql(CREATE_TRANSACTION, **{"from": gid(alice), "to": gid(bob), "m": LABELS, "k": "k-1"})
    assert again["createTransaction"]["transaction"]["id"] == first["createTransaction"]["transaction"]["id"]
    other = gql(CREATE_TRANSACTION, **{"from": gid(alice), "to": gid(bob), "m": LABELS[:1], "k": "k-1"})
    assert other["createTransaction"]["errors"] == [{"code": "IDEMPOTENCY_KEY_REUSED", "field": "idempotencyKey"}]
    bare = gql(CREATE_TRANSACTION, **{"from": gid(alice), "to": gid(bob), "m": None, "k": "k-1"})
    assert bare["createTransaction"]["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_the_database_refuses_to_change_a_transactions_metadata(gql: Gql, pair: Any) -> None:
    tx_id = created(gql, "createTransaction", pair, LABELS)["object"]["id"]
    tx = Transaction.objects.get(pk=decode_id(tx_id, "Transaction") or 0)
    for replacement in ([{"key": "pix.e2e", "value": "FORGED"}], None):
        with (
            pytest.raises(DatabaseError, match="never changes its metadata"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                "UPDATE transactions_transaction SET metadata = %s WHERE id = %s",
                [None if replacement is None else json.dumps(replacement), tx.pk],
            )
    tx.refresh_from_db()
    assert tx.metadata == LABELS
    # A status change (what the writer sends) is not refused by this trigger.
    Transaction.objects.filter(pk=tx.pk).update(completed_at=tx.completed_at)


# --- updateAccount ------------------------------------------------------------------------------------


def test_update_account_replaces_name_and_metadata_and_audits_old_and_new(gql: Gql, pair: Any) -> None:
    alice, _ = pair
    data = gql(UPDATE, id=gid(alice), name="  Alice Souza ", m=LABELS)["updateAccount"]
    assert data == {"account": {"id": gid(alice), "name": "Alice Souza", "metadata": LABELS}, "errors": []}
    event = AuditEvent.objects.filter(action="updateAccount").get()
    assert event.outcome == "OK" and event.object_id == str(alice.pk)
    assert event.payload == {
        "input": {"accountId": gid(alice), "name": "  Alice Souza ", "metadata": LABELS},  # as the client sent it
        "old": {"name": "Alice", "metadata": []},
        "new": {"name": "Alice Souza", "metadata": LABELS},
    }


def test_update_account_of_a_closed_account_answers_account_closed_and_changes_nothing(
    gql: Gql, settlement: Account
) -> None:
    empty = make_account(0, name="Old")
    account_close(account_id=empty.pk, reason="customer left")
    data = gql(UPDATE, id=gid(empty), name="New", m=LABELS)["updateAccount"]
    assert data == {"account": None, "errors": [{"code": "ACCOUNT_CLOSED", "field": "accountId"}]}
    empty.refresh_from_db()
    assert (empty.name, empty.metadata) == ("Old", None)
    event = AuditEvent.objects.filter(action="updateAccount").get()
    assert event.outcome == "ACCOUNT_CLOSED" and event.payload["input"]["name"] == "New"


def test_update_account_leaves_what_is_absent_and_clears_with_an_empty_list(gql: Gql, pair: Any) -> None:
    alice, _ = pair
    gql(UPDATE, id=gid(alice), m=LABELS)
    renamed = gql(UPDATE, id=gid(alice), name="Alicia")["updateAccount"]["account"]
    assert renamed["name"] == "Alicia" and renamed["metadata"] == LABELS
    cleared = gql(UPDATE, id=gid(alice), m=[])["updateAccount"]["account"]
    assert cleared["name"] == "Alicia" and cleared["metadata"] == []
    alice.refresh_from_db()
    assert alice.metadata is None and alice.balance == 100_000


@pytest.mark.parametrize("labels", BAD.values(), ids=BAD.keys())
def test_update_account_checks_metadata_as_creation_does(gql: Gql, pair: Any, labels: Any) -> None:
    alice, _ = pair
    data = gql(UPDATE, id=gid(alice), m=labels)["updateAccount"]
    assert data == {"account": None, "errors": [{"code": "INVALID_INPUT", "field": "metadata"}]}
    alice.refresh_from_db()
    assert alice.metadata is None


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_update_account_checks_the_name_as_creation_does(gql: Gql, pair: Any, name: str) -> None:
    data = gql(UPDATE, id=gid(pair[0]), name=name)["updateAccount"]
    assert data == {"account": None, "errors": [{"code": "INVALID_INPUT", "field": "name"}]}


def test_update_account_refuses_the_settlement_account_and_unknown_ids(gql: Gql, pair: Any) -> None:
    settlement = Account.objects.get(pk=0)
    data = gql(UPDATE, id=gid(settlement), name="Mine now")["updateAccount"]
    assert data == {"account": None, "errors": [{"code": "INVALID_INPUT", "field": "accountId"}]}
    for unknown in ("QWNjb3VudDo5OTk5OTk=", gid(Transaction.objects.first())):  # type: ignore[arg-type]
        data = gql(UPDATE, id=unknown, name="x")["updateAccount"]
        assert data == {"account": None, "errors": [{"code": "ACCOUNT_NOT_FOUND", "field": "accountId"}]}
    assert Account.objects.get(pk=0).name == "Settlement"


def test_update_account_needs_change_account(gql_as: Any, pair: Any) -> None:
    alice, _ = pair
    reader = gql_as("accounts.view_account", "accounts.add_account")
    data = reader(UPDATE, id=gid(alice), name="Mallory")["updateAccount"]
    assert data == {"account": None, "errors": [{"code": "PERMISSION_DENIED", "field": None}]}
    writer = gql_as("accounts.view_account", "accounts.change_account")
    assert writer(UPDATE, id=gid(alice), name="Alice 2")["updateAccount"]["errors"] == []


# --- Filters ------------------------------------------------------------------------------------------

ACCOUNTS = "query($m: [MetadataEntryInput!]) { accounts(metadata: $m) { totalCount edges { node { name } } } }"
TRANSACTIONS = (
    "query($m: [MetadataEntryInput!]) { transactions(metadata: $m, first: 50) { totalCount "
    "edges { node { description } } } }"
)


@pytest.fixture
def labelled(gql: Gql, pair: Any) -> None:
    alice, bob = pair
    for name, labels in (
        ("Alice", [{"key": "team", "value": "red"}, {"key": "tier", "value": "gold"}]),
        ("Bob", [{"key": "team", "value": "red"}]),
    ):
        account = alice if name == "Alice" else bob
        gql(UPDATE, id=gid(account), m=labels)
    for description, labels in (
        ("one", [{"key": "order", "value": "1"}, {"key": "shop", "value": "s"}]),
        ("two", [{"key": "order", "value": "2"}, {"key": "shop", "value": "s"}]),
        ("three", [{"key": "shop", "value": "S"}]),
    ):
        created_tx = gql(
            """mutation($from: ID!, $to: ID!, $m: [MetadataEntryInput!], $d: String) { createTransaction(input:
            {senderAccount: $from, receiverAccount: $to, amount: "1.00", type: PIX, description: $d, metadata: $m})
            { errors { code } } }""",
            **{"from": gid(alice), "to": gid(bob), "m": labels, "d": description},
        )
        assert created_tx["createTransaction"]["errors"] == []


@pytest.mark.usefixtures("labelled")
@pytest.mark.parametrize(
    ("labels", "names"),
    [
        ([{"key": "team", "value": "red"}], ["Alice", "Bob"]),
        ([{"key": "team", "value": "red"}, {"key": "tier", "value": "gold"}], ["Alice"]),
        ([{"key": "tier", "value": "red"}], []),  # the value of another key
        ([{"key": "team", "value": "RED"}], []),  # values are exact
        ([{"key": "team", "value": "red"}, {"key": "team", "value": "blue"}], []),
    ],
)
def test_accounts_filtered_by_metadata_keep_those_with_every_pair(gql: Gql, labels: Any, names: list[str]) -> None:
    data = gql(ACCOUNTS, m=labels)["accounts"]
    assert [edge["node"]["name"] for edge in data["edges"]] == names
    assert data["totalCount"] == len(names)


@pytest.mark.usefixtures("labelled")
@pytest.mark.parametrize(
    ("labels", "descriptions"),
    [
        ([{"key": "shop", "value": "s"}], ["one", "two"]),
        ([{"key": "shop", "value": "s"}, {"key": "order", "value": "2"}], ["two"]),
        ([{"key": "order", "value": "s"}], []),
        ([], ["", "", "one", "two", "three"]),  # no filter: every transaction (the two opening deposits first)
    ],
)
def test_transactions_filtered_by_metadata_keep_those_with_every_pair(
    gql: Gql, labels: Any, descriptions: list[str]
) -> None:
    data = gql(TRANSACTIONS, m=labels)["transactions"]
    found = [edge["node"]["description"] for edge in data["edges"]]
    assert [d for d in found if d != "Initial deposit"] == [d for d in descriptions if d]
    assert data["totalCount"] == len(found)


def plan(sql: str, params: Any) -> str:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # the tables are tiny: show the index is usable at all
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres_only
@pytest.mark.usefixtures("labelled")
def test_the_metadata_filters_are_served_by_the_gin_indexes_on_postgresql() -> None:
    from accounts.selectors import account_list
    from transactions.selectors import transaction_list

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    for queryset, index in (
        (account_list(metadata=(("team", "red"),)), "account_metadata_gin"),
        (transaction_list(metadata=(("shop", "s"), ("order", "1"))), "transaction_metadata_gin"),
    ):
        # The filter on its table (a page joins the parties to the rows it finds; totalCount counts these).
        sql, params = queryset.select_related(None).query.sql_with_params()
        explained = plan(sql, params)
        assert f"Bitmap Index Scan on {index}" in explained, explained
        assert "Seq Scan" not in explained, explained
