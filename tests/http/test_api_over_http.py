"""The API over HTTP as a banking app uses it: the seed's examples, payload errors with their fields."""

from __future__ import annotations

import pytest

from accounts.models import Account
from core.graphql.node import global_id
from tests.http.conftest import Api

pytestmark = pytest.mark.django_db

CREATE_ACCOUNT = """mutation($name: String!, $doc: String!, $balance: Decimal) {
  createAccount(input: {name: $name, document: $doc, balance: $balance, clientMutationId: "c-1"}) {
    account { id name document documentType kind balance availableBalance } errors { code field message }
    clientMutationId } }"""


# The examples assume the first ids, so sequences are reset: that needs a flush, which on SQLite is a DELETE
# the append-only triggers refuse (PostgreSQL truncates).
@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_the_seed_examples_work_as_written(ids_from_one: None, api: Api) -> None:
    first = api.data(
        'mutation { createAccount(input: {name: "João", document: "529.982.247-25", balance: 1000}) '
        "{ account { id name balance } errors { code } } }"
    )["createAccount"]
    assert first == {"account": {"id": "QWNjb3VudDox", "name": "João", "balance": "1000.00"}, "errors": []}
    api.data('mutation { createAccount(input: {name: "Maria", document: "11.222.333/0001-81"}) { errors { code } } }')
    moved = api.data(
        'mutation { createTransaction(input: {senderAccount: "QWNjb3VudDox", receiverAccount: '
        '"QWNjb3VudDoy", amount: 100, type: PIX}) { transaction { status amount sender { name } '
        "receiver { name } } errors { code } } }"
    )["createTransaction"]
    assert moved == {
        "transaction": {
            "status": "COMPLETED",
            "amount": "100.00",
            "sender": {"name": "João"},
            "receiver": {"name": "Maria"},
        },
        "errors": [],
    }
    listed = api.data("{ accounts(first: 10) { totalCount edges { node { name balance } } } }")["accounts"]
    assert listed["totalCount"] == 3
    assert {e["node"]["name"]: e["node"]["balance"] for e in listed["edges"]}["Maria"] == "100.00"


def test_create_account_echoes_client_mutation_id_and_normalizes(api: Api) -> None:
    result = api.data(CREATE_ACCOUNT, {"name": " Ana ", "doc": "12.abc.345/01de-35", "balance": "12.5"})
    payload = result["createAccount"]
    assert payload["clientMutationId"] == "c-1"
    assert payload["account"]["document"] == "12ABC34501DE35"
    assert payload["account"]["documentType"] == "CNPJ"
    assert payload["account"]["balance"] == "12.50"


@pytest.mark.parametrize(
    ("variables", "code", "field"),
    [
        ({"name": "Ana", "doc": "111.111.111-11", "balance": "1"}, "INVALID_DOCUMENT", "document"),
        ({"name": "", "doc": "52998224725", "balance": "1"}, "INVALID_INPUT", "name"),
        ({"name": "Ana", "doc": "52998224725", "balance": "1e3"}, "INVALID_AMOUNT", "balance"),
        ({"name": "Ana", "doc": "52998224725", "balance": "10.001"}, "INVALID_AMOUNT", "balance"),
        ({"name": "Ana", "doc": "52998224725", "balance": "-1"}, "INVALID_AMOUNT", "balance"),
    ],
)
def test_create_account_errors_are_payload_errors(api: Api, variables: dict, code: str, field: str) -> None:
    payload = api.data(CREATE_ACCOUNT, variables)["createAccount"]
    assert payload["account"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert Account.objects.count() == 1  # the settlement account only


def test_mutation_input_ids_that_do_not_resolve_name_their_field(api: Api) -> None:
    payload = api.data(
        'mutation { createTransaction(input: {senderAccount: "bad", receiverAccount: "QWNjb3VudDox", '
        "amount: 1, type: PIX}) { transaction { id } errors { code field } } }"
    )["createTransaction"]
    assert payload == {"transaction": None, "errors": [{"code": "ACCOUNT_NOT_FOUND", "field": "senderAccount"}]}
    payload = api.data(
        'mutation { cancelTransaction(input: {transactionId: "QWNjb3VudDox"}) { errors { code field } } }'
    )
    assert payload["cancelTransaction"]["errors"] == [{"code": "TRANSACTION_NOT_FOUND", "field": "transactionId"}]


def two_accounts(api: Api, balance: str) -> tuple[str, str]:
    a = api.data(CREATE_ACCOUNT, {"name": "A", "doc": "52998224725", "balance": balance})
    b = api.data(CREATE_ACCOUNT, {"name": "B", "doc": "11222333000181", "balance": "0"})
    return a["createAccount"]["account"]["id"], b["createAccount"]["account"]["id"]


TRANSFER = """mutation($a: ID!, $b: ID!, $amount: Decimal!, $type: TransactionType!) {
  createTransaction(input: {senderAccount: $a, receiverAccount: $b, amount: $amount, type: $type}) {
    transaction { status failureReason } errors { code field } } }"""


def test_insufficient_funds_answers_the_failed_transaction_and_the_error(api: Api) -> None:
    a, b = two_accounts(api, "1")
    payload = api.data(TRANSFER, {"a": a, "b": b, "amount": "5.00", "type": "TED"})["createTransaction"]
    assert payload == {
        "transaction": {"status": "FAILED", "failureReason": "INSUFFICIENT_FUNDS"},
        "errors": [{"code": "INSUFFICIENT_FUNDS", "field": "amount"}],
    }


def test_batch_reverse_cancel_and_deposit_over_http(api: Api) -> None:
    a, b = two_accounts(api, "100")
    batch = api.data(
        """mutation($a: ID!, $b: ID!) { createTransactions(input: {atomic: true, transactions: [
        {senderAccount: $a, receiverAccount: $b, amount: 10, type: PIX},
        {senderAccount: $a, receiverAccount: $b, amount: 10, type: TED}]})
        { results { index transaction { id status } errors { code } } errors { code } } }""",
        {"a": a, "b": b},
    )["createTransactions"]
    assert [r["transaction"]["status"] for r in batch["results"]] == ["COMPLETED", "PENDING"]
    pix_id, ted_id = (r["transaction"]["id"] for r in batch["results"])
    cancelled = api.data(
        "mutation($id: ID!) { cancelTransaction(input: {transactionId: $id}) { transaction "
        "{ status failureReason } errors { code } } }",
        {"id": ted_id},
    )["cancelTransaction"]
    assert cancelled["transaction"] == {"status": "FAILED", "failureReason": "CANCELLED"}
    reversed_ = api.data(
        "mutation($id: ID!) { reverseTransaction(input: {transactionId: $id}) { transaction "
        "{ status reversedBy { type } } reversal { type reverses { id } } errors { code } } }",
        {"id": pix_id},
    )["reverseTransaction"]
    assert reversed_["transaction"] == {"status": "REVERTED", "reversedBy": {"type": "REVERSAL"}}
    assert reversed_["reversal"]["reverses"]["id"] == pix_id
    deposit = api.data(
        'mutation($b: ID!) { createDeposit(input: {accountId: $b, amount: "0.01"}) '
        "{ transaction { type amount } errors { code field } } }",
        {"b": b},
    )["createDeposit"]
    assert deposit["transaction"] == {"type": "DEPOSIT", "amount": "0.01"}


def test_batch_limits_are_payload_errors(api: Api) -> None:
    payload = api.data(
        "mutation { createTransactions(input: {transactions: []}) { results { index } errors { code field } } }"
    )["createTransactions"]
    assert payload == {"results": [], "errors": [{"code": "INVALID_INPUT", "field": "transactions"}]}


def test_a_refused_page_size_nulls_data_and_takes_its_sibling_root_fields_with_it(api: Api) -> None:
    """Every connection is non-null: a refused one's null climbs to `data` (docs/HTTP.md, null propagation)."""
    response = api.post("{ a: accounts(first: 1) { totalCount } big: transactions(first: 101) { totalCount } }")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None  # `a` ran, and is lost with the rest
    (error,) = body["errors"]
    assert error["path"] == ["big"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "first"}
    cursor = api.post('{ a: accounts(first: 1) { totalCount } b: transactions(first: 1, after: "zzz") { totalCount } }')
    assert cursor.json()["data"] is None and cursor.json()["errors"][0]["path"] == ["b"]
    # Under a nullable field the null stops there: `account(id:)` keeps it, and `a` is answered.
    query = (
        "query($id: ID!) { a: accounts(first: 1) { totalCount } "
        "b: account(id: $id) { transactions(first: 101) { totalCount } } }"
    )
    nested = api.post(query, {"id": global_id("Account", 0)}).json()
    assert nested["data"] == {"a": {"totalCount": Account.objects.count()}, "b": None}
    assert nested["errors"][0]["path"] == ["b", "transactions"]
