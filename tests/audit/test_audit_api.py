"""The audit trail in the API (records.md): auditEvents top level, per account, per transaction; its permission."""

from __future__ import annotations

import json
from typing import Any

import pytest

from accounts.models import Account
from audit.models import AuditEvent
from audit.selectors import AUDIT_EVENTS
from core.counters import counter_total
from tests.factories import make_account
from tests.graphql.conftest import Gql, gid
from transactions.models import Transaction
from transactions.services import TransferSpec, transfer_batch_create, transfer_create

pytestmark = pytest.mark.django_db

VIEW_AUDIT = "audit.view_auditevent"
TOP = """query($action: String, $actor: String, $first: Int, $after: String) {
  auditEvents(action: $action, actor: $actor, first: $first, after: $after) { totalCount
    edges { cursor node { id action outcome actor requestId createdAt detail
      subjects { __typename ... on Account { name } ... on Transaction { amount } } } }
    pageInfo { hasNextPage hasPreviousPage endCursor } } }"""


@pytest.fixture
def pix(settlement: Account) -> Transaction:
    alice, bob = make_account(10_000, name="Alice"), make_account(10_000, name="Bob")
    result = transfer_create(spec=TransferSpec(alice.pk, bob.pk, 250, "PIX"), actor=None)
    assert result.transaction is not None
    return result.transaction


def test_top_level_audit_events_in_created_order_with_exact_total(gql: Gql, pix: Transaction) -> None:
    data = gql(TOP, first=100)["auditEvents"]
    events = list(AuditEvent.objects.order_by("created_at", "pk"))
    assert [edge["node"]["action"] for edge in data["edges"]] == [e.action for e in events]
    assert data["totalCount"] == len(events) == counter_total(AUDIT_EVENTS)
    last = data["edges"][-1]["node"]
    assert last["action"] == "createTransaction" and last["outcome"] == "COMPLETED"
    assert last["actor"] == "system" and last["requestId"] is None
    assert json.loads(last["detail"]) == {}
    assert sorted(s["__typename"] for s in last["subjects"]) == ["Account", "Account", "Transaction"]
    assert {s.get("name") for s in last["subjects"]} >= {"Alice", "Bob"}


def test_the_unfiltered_total_comes_from_the_counter_and_filters_count(gql: Gql, pix: Transaction) -> None:
    assert gql(TOP, first=0)["auditEvents"]["totalCount"] == AuditEvent.objects.count()
    only = gql(TOP, action="createTransaction")["auditEvents"]
    assert only["totalCount"] == 1 and only["edges"][0]["node"]["action"] == "createTransaction"


def test_filters_combine_and_actor_reads_as_shown(gql: Gql, pix: Transaction) -> None:
    gql("""mutation { createAccount(input: {name: "Zé", document: "529.982.247-25"}) { errors { code } } }""")
    mine = gql(TOP, actor=f"user:{gql.user.username}")["auditEvents"]
    assert [edge["node"]["actor"] for edge in mine["edges"]] == [f"user:{gql.user.username}"]
    both = gql(TOP, actor=f"user:{gql.user.username}", action="createTransaction")["auditEvents"]
    assert both["totalCount"] == 0 and both["edges"] == []


def test_pages_follow_the_keyset_rules(gql: Gql, pix: Transaction) -> None:
    total = AuditEvent.objects.count()
    first = gql(TOP, first=2)["auditEvents"]
    assert first["pageInfo"]["hasNextPage"] is (total > 2) and first["pageInfo"]["hasPreviousPage"] is False
    rest = gql(TOP, first=100, after=first["pageInfo"]["endCursor"])["auditEvents"]
    assert len(first["edges"]) + len(rest["edges"]) == total and rest["pageInfo"]["hasPreviousPage"] is True
    errors = gql.errors(TOP, first=101)
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_rejection_is_in_the_trail(gql: Gql, pix: Transaction) -> None:
    alice = gid(pix.sender)
    gql(
        """mutation($a: ID!) { createTransaction(input: {senderAccount: $a, receiverAccount: $a, amount: "x",
        type: PIX}) { errors { code } } }""",
        a=alice,
    )
    data = gql(TOP, action="createTransaction")["auditEvents"]
    assert [edge["node"]["outcome"] for edge in data["edges"]] == ["COMPLETED", "INVALID_AMOUNT"]
    assert json.loads(data["edges"][1]["node"]["detail"])["error"]["code"] == "INVALID_AMOUNT"


NESTED = """query($a: ID!, $t: ID!) {
  account(id: $a) { auditEvents(first: 50) { totalCount edges { node { action outcome } } } }
  transaction(id: $t) { auditEvents { totalCount edges { node { action subjects { id } } } } } }"""


def test_an_accounts_and_a_transactions_events_are_those_that_touched_them(gql: Gql, settlement: Account) -> None:
    alice, bob, carol = (make_account(10_000, name=n) for n in ("Alice", "Bob", "Carol"))
    first = transfer_create(spec=TransferSpec(alice.pk, bob.pk, 100, "PIX")).transaction
    transfer_create(spec=TransferSpec(bob.pk, carol.pk, 100, "PIX"))
    transfer_batch_create(specs=[TransferSpec(carol.pk, alice.pk, 5, "PIX"), TransferSpec(carol.pk, bob.pk, 5, "PIX")])
    assert first is not None
    data = gql(NESTED, a=gid(alice), t=gid(first))
    actions = [edge["node"]["action"] for edge in data["account"]["auditEvents"]["edges"]]
    # Alice's opening (its account, then the deposit), her PIX, the batch that paid her; not Bob's PIX to Carol.
    assert actions == ["createAccount", "createDeposit", "createTransaction", "createTransactions"]
    assert data["account"]["auditEvents"]["totalCount"] == 4
    (event,) = [edge["node"] for edge in data["transaction"]["auditEvents"]["edges"]]
    assert event["action"] == "createTransaction"
    assert {s["id"] for s in event["subjects"]} == {gid(first), gid(alice), gid(bob)}


def test_audit_events_need_their_permission(gql_as: Any, pix: Transaction) -> None:
    reader = gql_as("accounts.view_account", "transactions.view_transaction")
    assert [e["extensions"]["code"] for e in reader.errors(TOP)] == ["FORBIDDEN"]
    result = reader.result("query($a: ID!) { account(id: $a) { name auditEvents { totalCount } } }", a=gid(pix.sender))
    assert result.data == {"account": None}
    assert [(e.path, e.extensions["code"]) for e in result.errors or []] == [(["account", "auditEvents"], "FORBIDDEN")]


def test_subjects_show_only_what_the_key_may_view(gql_as: Any, pix: Transaction) -> None:
    auditor = gql_as(VIEW_AUDIT, "accounts.view_account")
    data = auditor(TOP, action="createTransaction")["auditEvents"]
    (node,) = [edge["node"] for edge in data["edges"]]
    assert sorted(s["__typename"] for s in node["subjects"]) == ["Account", "Account"]  # not the transaction
    blind = gql_as(VIEW_AUDIT)(TOP, action="createTransaction")["auditEvents"]
    assert blind["edges"][0]["node"]["subjects"] == []


def test_an_event_is_a_node(gql: Gql, pix: Transaction) -> None:
    event_id = gql(TOP, first=1)["auditEvents"]["edges"][0]["node"]["id"]
    assert gql("query($id: ID!) { node(id: $id) { id ... on AuditEvent { action } } }", id=event_id)["node"]["id"] == (
        event_id
    )


def test_an_operations_one_event_keeps_its_input_and_result(gql: Gql, pix: Transaction) -> None:
    """records.md: one event per operation, its detail the input and the result; a reversal names both."""
    reversed_ = gql(
        """mutation($t: ID!) { reverseTransaction(input: {transactionId: $t, amount: "1.00"}) {
        reversal { id } errors { code } } }""",
        t=gid(pix),
    )["reverseTransaction"]
    assert reversed_["errors"] == []
    (event,) = [edge["node"] for edge in gql(TOP, action="reverseTransaction")["auditEvents"]["edges"]]
    detail = json.loads(event["detail"])
    assert detail["input"] == {"transactionId": gid(pix), "amount": "1.00"}
    assert (detail["amount"], detail["reversed_amount"]) == (100, 100)
    reversal = Transaction.objects.get(reverses=pix)
    assert {s["amount"] for s in event["subjects"] if "amount" in s} == {"2.50", "1.00"}  # the original, the reversal
    assert detail["reversal"] == reversal.pk
