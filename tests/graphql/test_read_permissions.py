"""An object comes back only to a key allowed to view its type, wherever it appears (issue 9, class 2).

Account needs ``accounts.view_account``; Transaction and Entry need
``transactions.view_transaction``, and so do ``Account.balanceAt``,
``Account.entries`` and ``Account.transactions``. Refused: ``null`` and a
FORBIDDEN error at that path, with GraphQL's null propagation (a refused
non-null field nulls its parent up to the nearest nullable position).
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLObjectType

from accounts.models import Account
from ledger_project.schema import schema
from tests.factories import make_account
from tests.graphql.conftest import Gql, gid
from transactions.models import Entry, Transaction, TransactionStatus
from transactions.services import TransferSpec, transfer_create

pytestmark = pytest.mark.django_db

VIEW_ACCOUNT = "accounts.view_account"
VIEW_TRANSACTION = "transactions.view_transaction"
ADD_TRANSACTION = "transactions.add_transaction"
PARTY = "{ id name document balance availableBalance }"


def transfer(sender: Account, receiver: Account, amount: int = 1_00, type: str = "PIX") -> Transaction:
    result = transfer_create(spec=TransferSpec(sender.pk, receiver.pk, amount, type))
    assert result.transaction is not None and result.error is None
    return result.transaction


def refusals(result: Any) -> list[tuple[list[str | int], Any]]:
    """(path, code) of every error of an execution result."""
    return [(list(error.path or []), (error.extensions or {}).get("code")) for error in result.errors or []]


@pytest.fixture
def pair(settlement: Account) -> tuple[Account, Account, Transaction]:
    alice, bob = make_account(500_00, "Alice"), make_account(0, "Bob")
    return alice, bob, transfer(alice, bob, 123_45)


# --- Nested objects ---------------------------------------------------------------------------


def test_a_transaction_reader_cannot_read_the_parties(gql_as: Any, pair: Any) -> None:
    reader = gql_as(VIEW_TRANSACTION)
    listed = reader.result(f"{{ transactions {{ edges {{ node {{ id sender {PARTY} }} }} }} }}")
    # Transaction.sender is non-null: the refusal nulls the edge, the list, and the non-null root field.
    assert listed.data is None
    assert refusals(listed) == [(["transactions", "edges", 0, "node", "sender"], "FORBIDDEN")]

    one = reader.result(f'{{ transaction(id: "{gid(pair[2])}") {{ amount receiver {PARTY} }} }}')
    assert one.data == {"transaction": None}
    assert refusals(one) == [(["transaction", "receiver"], "FORBIDDEN")]

    # Through an entry of the transaction too.
    via_entry = reader.result(
        f'{{ transaction(id: "{gid(pair[2])}") {{ entries {{ amount account {{ document balance }} }} }} }}'
    )
    assert via_entry.data == {"transaction": None}
    assert refusals(via_entry) == [(["transaction", "entries", 0, "account"], "FORBIDDEN")]

    # What the key may read still comes back whole.
    assert reader(f'{{ transaction(id: "{gid(pair[2])}") {{ amount status entries {{ amount }} }} }}') == {
        "transaction": {
            "amount": "123.45",
            "status": "COMPLETED",
            "entries": [{"amount": "-123.45"}, {"amount": "123.45"}],
        }
    }


def test_node_and_nodes_on_an_entry_hide_its_account(gql_as: Any, pair: Any) -> None:
    entry = Entry.objects.filter(transaction=pair[2]).order_by("amount").first()
    assert entry is not None
    reader = gql_as(VIEW_TRANSACTION)
    query = "... on Entry { amount account { name document balance } }"
    one = reader.result(f'{{ node(id: "{gid(entry)}") {{ {query} }} }}')
    assert one.data == {"node": None}
    assert refusals(one) == [(["node", "account"], "FORBIDDEN")]

    many = reader.result(
        f'{{ nodes(ids: ["{gid(entry)}", "{gid(pair[2])}"]) {{ {query} ... on Transaction {{ amount }} }} }}'
    )
    assert many.data == {"nodes": [None, {"amount": "123.45"}]}
    assert refusals(many) == [(["nodes", 0, "account"], "FORBIDDEN")]

    # An account reader may not reach an entry or a transaction through node either.
    account_reader = gql_as(VIEW_ACCOUNT)
    refused = account_reader.result(f'{{ nodes(ids: ["{gid(entry)}", "{gid(pair[0])}"]) {{ id }} }}')
    assert refused.data == {"nodes": [None, {"id": gid(pair[0])}]}
    assert refusals(refused) == [(["nodes", 0], "FORBIDDEN")]


def test_an_account_reader_cannot_read_the_balance_history(gql_as: Any, pair: Any) -> None:
    alice = gid(pair[0])
    reader = gql_as(VIEW_ACCOUNT)
    for field in (
        'balanceAt(at: "2100-01-01T00:00:00Z")',
        "entries { edges { node { amount balanceAfter } } }",
        "transactions { totalCount }",
    ):
        result = reader.result(f'{{ account(id: "{alice}") {{ name {field} }} }}')
        assert result.data == {"account": None}, field  # all three are non-null: the account goes null
        assert refusals(result) == [(["account", field.split("(")[0].split(" ")[0]], "FORBIDDEN")], field

    in_a_list = reader.result('{ accounts { edges { node { balanceAt(at: "2100-01-01T00:00:00Z") } } } }')
    assert in_a_list.data is None
    assert refusals(in_a_list) == [(["accounts", "edges", 0, "node", "balanceAt"], "FORBIDDEN")]

    assert reader(f'{{ account(id: "{alice}") {{ name balance }} }}') == {
        "account": {"name": "Alice", "balance": "376.55"}
    }


def test_the_root_fields_answer_as_before(gql_as: Any, pair: Any) -> None:
    """The root lists and lookups refuse at the root, before any row is read, whatever the arguments."""
    nobody = gql_as()
    for field, path in (
        ("accounts { totalCount }", "accounts"),
        ("transactions(first: 0) { totalCount }", "transactions"),
        ('transactions(after: "not a cursor") { totalCount }', "transactions"),
    ):
        result = nobody.result(f"{{ {field} }}")
        assert result.data is None, field
        assert refusals(result) == [([path], "FORBIDDEN")], field
    for field in ('account(id: "garbage")', f'account(id: "{gid(pair[0])}")', f'transaction(id: "{gid(pair[2])}")'):
        result = nobody.result(f"{{ {field} {{ id }} }}")
        assert result.data == {field.split("(")[0]: None}, field
        assert refusals(result) == [([field.split("(")[0]], "FORBIDDEN")], field
    unknown = nobody.result('{ node(id: "QWNjb3VudDo5OTk5OTk=") { id } }')  # Account:999999
    assert unknown.data == {"node": None} and refusals(unknown) == [(["node"], "FORBIDDEN")]


# --- Mutation payloads ------------------------------------------------------------------------


def create_transaction(sender: Account, receiver: Account, selection: str) -> str:
    return (
        f'mutation {{ createTransaction(input: {{senderAccount: "{gid(sender)}", receiverAccount: "{gid(receiver)}", '
        f'amount: "1.00", type: PIX, clientMutationId: "m-1"}}) {{ {selection} errors {{ code }} clientMutationId }} }}'
    )


def test_a_writer_without_view_permissions_reads_nothing_back(gql_as: Any, pair: Any) -> None:
    alice, bob, _ = pair
    writer = gql_as(ADD_TRANSACTION)
    result = writer.result(create_transaction(alice, bob, f"transaction {{ id status sender {PARTY} }}"))
    # The payload itself (errors, clientMutationId) comes back; the transaction object does not.
    assert result.data == {"createTransaction": {"transaction": None, "errors": [], "clientMutationId": "m-1"}}
    assert refusals(result) == [(["createTransaction", "transaction"], "FORBIDDEN")]
    assert Transaction.objects.filter(sender=alice).count() == 2  # the write was allowed and happened


def test_a_writer_who_may_view_transactions_gets_them_but_not_the_parties(gql_as: Any, pair: Any) -> None:
    alice, bob, _ = pair
    writer = gql_as(ADD_TRANSACTION, VIEW_TRANSACTION)
    result = writer.result(create_transaction(alice, bob, f"transaction {{ id status sender {PARTY} }}"))
    # sender is non-null: refusing it nulls the payload's transaction, not the payload.
    assert result.data == {"createTransaction": {"transaction": None, "errors": [], "clientMutationId": "m-1"}}
    assert refusals(result) == [(["createTransaction", "transaction", "sender"], "FORBIDDEN")]

    visible = writer(create_transaction(alice, bob, "transaction { status amount }"))
    assert visible["createTransaction"]["transaction"] == {"status": "COMPLETED", "amount": "1.00"}


def test_every_payload_object_needs_its_view_permission(gql_as: Any, pair: Any) -> None:
    alice, bob, original = pair
    pending = transfer(alice, bob, 5_00, "TED")
    canceller = gql_as(ADD_TRANSACTION)
    cancelled = canceller.result(
        f'mutation {{ cancelTransaction(input: {{transactionId: "{gid(pending)}"}}) '
        f"{{ transaction {{ status sender {PARTY} }} errors {{ code }} }} }}"
    )
    assert cancelled.data == {"cancelTransaction": {"transaction": None, "errors": []}}
    assert refusals(cancelled) == [(["cancelTransaction", "transaction"], "FORBIDDEN")]
    pending.refresh_from_db()
    assert pending.status == TransactionStatus.FAILED

    reverser = gql_as("transactions.reverse_transaction", VIEW_TRANSACTION)
    reversed_ = reverser.result(
        f'mutation {{ reverseTransaction(input: {{transactionId: "{gid(original)}"}}) '
        f"{{ transaction {{ status }} reversal {{ amount receiver {PARTY} }} errors {{ code }} }} }}"
    )
    assert reversed_.data == {
        "reverseTransaction": {"transaction": {"status": "REVERTED"}, "reversal": None, "errors": []}
    }
    assert refusals(reversed_) == [(["reverseTransaction", "reversal", "receiver"], "FORBIDDEN")]

    batch = gql_as(ADD_TRANSACTION).result(
        f'mutation {{ createTransactions(input: {{transactions: [{{senderAccount: "{gid(alice)}", '
        f'receiverAccount: "{gid(bob)}", amount: "1.00", type: PIX}}]}}) '
        "{ results { index transaction { id } errors { code } } errors { code } } }"
    )
    assert batch.data == {
        "createTransactions": {"results": [{"index": 0, "transaction": None, "errors": []}], "errors": []}
    }
    assert refusals(batch) == [(["createTransactions", "results", 0, "transaction"], "FORBIDDEN")]

    opener = gql_as("accounts.add_account")
    opened = opener.result(
        'mutation { createAccount(input: {name: "Caio", document: "52998224725"}) '
        "{ account { id document balance } errors { code } } }"
    )
    assert opened.data == {"createAccount": {"account": None, "errors": []}}
    assert refusals(opened) == [(["createAccount", "account"], "FORBIDDEN")]
    assert Account.objects.filter(document="52998224725").exists()


# --- Whoever holds the permissions sees everything, unchanged ----------------------------------

EVERYTHING = """query($tx: ID!, $entry: ID!, $account: ID!) {
  transactions { totalCount edges { node { amount sender { name document balance } receiver { name }
    entries { amount account { name } transaction { amount } } } } }
  transaction(id: $tx) { reverses { amount } reversedBy { amount } sender { balanceAt(at: "2100-01-01T00:00:00Z") } }
  node(id: $entry) { ... on Entry { account { document } transaction { amount } } }
  nodes(ids: [$entry, $account, $tx]) { id }
  account(id: $account) { name balanceAt(at: "2100-01-01T00:00:00Z") entries { totalCount edges { node { amount } } }
    transactions { totalCount edges { node { amount } } } }
  accounts { totalCount pageInfo { hasNextPage } }
}"""


@pytest.mark.parametrize("who", ["superuser", "both view permissions"])
def test_a_reader_with_every_view_permission_sees_everything(gql: Gql, gql_as: Any, pair: Any, who: str) -> None:
    alice, _, tx = pair
    entry = Entry.objects.filter(transaction=tx).order_by("amount").first()
    assert entry is not None
    client = gql if who == "superuser" else gql_as(VIEW_ACCOUNT, VIEW_TRANSACTION)
    data = client(EVERYTHING, tx=gid(tx), entry=gid(entry), account=gid(alice))
    node = data["transactions"]["edges"][-1]["node"]
    assert node["sender"] == {"name": "Alice", "document": alice.document, "balance": "376.55"}
    assert [e["account"]["name"] for e in node["entries"]] == ["Alice", "Bob"]
    assert data["transaction"]["sender"] == {"balanceAt": "376.55"}
    assert data["node"] == {"account": {"document": alice.document}, "transaction": {"amount": "123.45"}}
    assert [n["id"] for n in data["nodes"]] == [gid(entry), gid(alice), gid(tx)]
    assert data["account"]["balanceAt"] == "376.55"
    assert data["account"]["entries"]["totalCount"] == 2 and data["account"]["transactions"]["totalCount"] == 2

    writer = gql if who == "superuser" else gql_as(ADD_TRANSACTION, VIEW_ACCOUNT, VIEW_TRANSACTION)
    payload = writer(create_transaction(alice, pair[1], "transaction { sender { name balance } }"))
    assert payload["createTransaction"]["transaction"] == {"sender": {"name": "Alice", "balance": "375.55"}}


def test_a_read_only_key_reads_what_its_user_may_view(gql_as: Any, pair: Any) -> None:
    class Key:
        read_only = True

    reader = gql_as(VIEW_TRANSACTION, api_key=Key())
    result = reader.result(f"{{ transactions {{ edges {{ node {{ amount sender {PARTY} }} }} }} }}")
    assert result.data is None
    assert refusals(result) == [(["transactions", "edges", 0, "node", "sender"], "FORBIDDEN")]
    assert reader("{ transactions { totalCount } }") == {"transactions": {"totalCount": 2}}


# --- The rule is declared once, by type ------------------------------------------------------

UNGATED = {
    # Roots, payload wrappers, connection wrappers: what they carry is checked by its own type.
    "Query",
    "Mutation",
    "PageInfo",
    "LedgerError",
    "AccountConnection",
    "AccountEdge",
    "TransactionConnection",
    "TransactionEdge",
    "EntryConnection",
    "EntryEdge",
    "TransactionResult",
    "CreateAccountPayload",
    "CreateTransactionPayload",
    "CreateTransactionsPayload",
    "CreateDepositPayload",
    "ReverseTransactionPayload",
    "CancelTransactionPayload",
    "UpdateAccountPayload",
    "AuditEventConnection",
    "AuditEventEdge",
    # A part of its owner (an Account's or a Transaction's labels), read only through it.
    "MetadataEntry",
    "CaptureTransactionPayload",
    "SetCreditLimitPayload",
    "ChangeAccountStatusPayload",
}


def test_every_object_type_declares_who_may_view_it() -> None:
    """A new type must be gated or listed here as a wrapper: nothing is readable by omission."""
    from core.graphql.node import field_permissions, view_permission

    gated: dict[str, str] = {}
    for name, graphql_type in schema.graphql_schema.type_map.items():
        if name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        permission = view_permission(graphql_type)
        if permission is None:
            assert name in UNGATED, f"{name} declares no view_permission"
        else:
            gated[name] = permission
        for field_name in field_permissions(graphql_type):
            assert field_name in graphql_type.fields, f"{name}.{field_name} is not a field"
    assert gated == {
        "Account": VIEW_ACCOUNT,
        "Transaction": VIEW_TRANSACTION,
        "Entry": VIEW_TRANSACTION,
        "AuditEvent": "audit.view_auditevent",
    }
    account = schema.graphql_schema.type_map["Account"]
    assert isinstance(account, GraphQLObjectType)
    assert field_permissions(account) == dict.fromkeys(["balanceAt", "entries", "transactions"], VIEW_TRANSACTION)
