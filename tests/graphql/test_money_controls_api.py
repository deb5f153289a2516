"""The money controls over GraphQL: the shapes of money-controls.graphql, the inputs decoded, the errors."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Account
from tests.factories import make_account
from tests.graphql.conftest import gid

pytestmark = pytest.mark.django_db

CREATE = """mutation($input: CreateTransactionInput!) { createTransaction(input: $input) {
  transaction { id status captureMode holdExpiresAt amount capturedAmount } errors { code field } } }"""
CAPTURE = """mutation($input: CaptureTransactionInput!) { captureTransaction(input: $input) {
  transaction { id status amount capturedAmount completedAt } errors { code field } } }"""
REVERSE = """mutation($input: ReverseTransactionInput!) { reverseTransaction(input: $input) {
  transaction { status capturedAmount reversedAmount reversedBy { id } reversals { id amount } }
  reversal { id amount } errors { code field } } }"""
STATUS = """mutation($input: ChangeAccountStatusInput!) { %s(input: $input) {
  account { status statusReason } errors { code field } } }"""
LIMIT = """mutation($input: SetCreditLimitInput!) { setCreditLimit(input: $input) {
  account { creditLimit spendable availableBalance } errors { code field } } }"""


@pytest.fixture
def accounts(settlement: Account) -> tuple[str, str]:
    return gid(make_account(100_000)), gid(make_account(0))


def test_authorize_capture_part_and_refund_in_two_parts(gql: Any, accounts: tuple[str, str]) -> None:
    sender, receiver = accounts
    spec = {"senderAccount": sender, "receiverAccount": receiver, "amount": "300.00", "type": "PIX"}
    created = gql(CREATE, input={**spec, "captureMode": "MANUAL"})["createTransaction"]
    tx = created["transaction"]
    assert (tx["status"], tx["captureMode"], tx["capturedAmount"], created["errors"]) == ("PENDING", "MANUAL", None, [])
    assert tx["holdExpiresAt"] is not None
    too_much = gql(CAPTURE, input={"transactionId": tx["id"], "amount": "300.01"})["captureTransaction"]
    assert too_much["errors"] == [{"code": "AMOUNT_TOO_LARGE", "field": "amount"}]
    captured = gql(CAPTURE, input={"transactionId": tx["id"], "amount": "200.00"})["captureTransaction"]
    assert (captured["transaction"]["status"], captured["transaction"]["capturedAmount"]) == ("COMPLETED", "200.00")
    first = gql(REVERSE, input={"transactionId": tx["id"], "amount": "50.00"})["reverseTransaction"]
    assert first["transaction"]["status"] == "COMPLETED" and first["transaction"]["reversedAmount"] == "50.00"
    assert first["transaction"]["reversedBy"] is None
    last = gql(REVERSE, input={"transactionId": tx["id"]})["reverseTransaction"]
    assert (last["reversal"]["amount"], last["transaction"]["status"]) == ("150.00", "REVERTED")
    assert last["transaction"]["reversedBy"] == {"id": last["reversal"]["id"]}
    assert [r["amount"] for r in last["transaction"]["reversals"]] == ["50.00", "150.00"]


def test_automatic_is_the_default_and_bad_capture_inputs_are_refused(gql: Any, accounts: tuple[str, str]) -> None:
    sender, receiver = accounts
    spec = {"senderAccount": sender, "receiverAccount": receiver, "amount": "1.00", "type": "PIX"}
    tx = gql(CREATE, input=spec)["createTransaction"]["transaction"]
    assert (tx["captureMode"], tx["holdExpiresAt"], tx["capturedAmount"]) == ("AUTOMATIC", None, "1.00")
    ted = gql(CREATE, input={**spec, "type": "TED", "captureMode": "MANUAL"})["createTransaction"]
    assert ted["errors"] == [{"code": "INVALID_INPUT", "field": "captureMode"}] and ted["transaction"] is None
    past = gql(CREATE, input={**spec, "captureMode": "MANUAL", "holdExpiresAt": "2020-01-01T00:00:00Z"})
    assert past["createTransaction"]["errors"] == [{"code": "INVALID_INPUT", "field": "holdExpiresAt"}]
    not_manual = gql(CAPTURE, input={"transactionId": tx["id"]})["captureTransaction"]
    assert not_manual["errors"] == [{"code": "NOT_CAPTURABLE", "field": "transactionId"}]
    bad = gql(CAPTURE, input={"transactionId": tx["id"], "amount": "1.001"})["captureTransaction"]
    assert bad["errors"] == [{"code": "INVALID_AMOUNT", "field": "amount"}]


def test_freeze_limit_and_close_over_graphql(gql: Any, gql_as: Any, accounts: tuple[str, str]) -> None:
    sender, receiver = accounts
    frozen = gql(STATUS % "freezeAccount", input={"accountId": sender, "reason": " fraud alert "})["freezeAccount"]
    assert frozen == {"account": {"status": "FROZEN", "statusReason": "fraud alert"}, "errors": []}
    spec = {"senderAccount": sender, "receiverAccount": receiver, "amount": "1.00", "type": "PIX"}
    refused = gql(CREATE, input=spec)["createTransaction"]
    assert refused == {"transaction": None, "errors": [{"code": "ACCOUNT_FROZEN", "field": "senderAccount"}]}
    limit = gql(LIMIT, input={"accountId": receiver, "creditLimit": "250.00"})["setCreditLimit"]
    assert limit["account"] == {"creditLimit": "250.00", "spendable": "250.00", "availableBalance": "0.00"}
    negative = gql(LIMIT, input={"accountId": receiver, "creditLimit": "-1"})["setCreditLimit"]
    assert negative["errors"] == [{"code": "INVALID_AMOUNT", "field": "creditLimit"}]
    closed = gql(STATUS % "closeAccount", input={"accountId": receiver, "reason": "done"})["closeAccount"]
    assert closed["account"]["status"] == "CLOSED"
    blank = gql(STATUS % "unfreezeAccount", input={"accountId": sender, "reason": "  "})["unfreezeAccount"]
    assert blank["errors"] == [{"code": "INVALID_INPUT", "field": "reason"}]
    denied = gql_as("accounts.view_account")(STATUS % "unfreezeAccount", input={"accountId": sender, "reason": "x"})
    assert denied["unfreezeAccount"]["errors"] == [{"code": "PERMISSION_DENIED", "field": None}]
