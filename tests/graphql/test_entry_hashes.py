"""Entry.hash and Entry.prevHash let a party outside the bank re-check an account's chain (records.md, Entry hashes).

The statement is exported through the API, written to a file and checked by
tools/verify_statement.py run as its own process without site-packages (so
without Django): what the bank's customer or auditor would run.
"""

from __future__ import annotations

import copy
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from accounts.models import Account
from tests.factories import make_account
from tests.graphql.conftest import Gql, gid
from transactions.hashing import GENESIS_HASH
from transactions.services import TransferSpec, transaction_reverse, transfer_batch_create

pytestmark = pytest.mark.django_db

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "verify_statement.py"
EXPORT = """query($id: ID!, $after: String) { account(id: $id) { id entries(first: 3, after: $after) {
  edges { node { sequence amount balanceAfter createdAt hash prevHash transaction { id } } }
  pageInfo { hasNextPage endCursor } } } }"""


def export(gql: Gql, account: Account) -> dict[str, Any]:
    """Every page of the account's statement, concatenated, as a client would save it."""
    edges: list[dict[str, Any]] = []
    after = None
    while True:
        page = gql(EXPORT, id=gid(account), after=after)["account"]
        edges += page["entries"]["edges"]
        if not page["entries"]["pageInfo"]["hasNextPage"]:
            return {"data": {"account": {"id": page["id"], "entries": {"edges": edges}}}}
        after = page["entries"]["pageInfo"]["endCursor"]


def verify(tmp_path: Path, statement: dict[str, Any]) -> tuple[int, str]:
    file = tmp_path / "statement.json"
    file.write_text(json.dumps(statement))
    done = subprocess.run(
        [sys.executable, "-I", "-S", str(SCRIPT), str(file)], capture_output=True, text=True, timeout=60, check=False
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def alice(settlement: Account) -> Account:
    alice, bob = make_account(100_000, name="Alice"), make_account(5_000, name="Bob")
    results = transfer_batch_create(
        specs=[TransferSpec(alice.pk, bob.pk, 1_234, "PIX"), TransferSpec(bob.pk, alice.pk, 99, "TRANSFER")]
        + [TransferSpec(alice.pk, bob.pk, 100 + i, "PIX") for i in range(4)]
    )
    first = results[0].transaction
    assert first is not None
    transaction_reverse(transaction_id=first.pk)
    return alice


def test_the_api_exposes_each_accounts_chain(gql: Gql, alice: Account) -> None:
    edges = export(gql, alice)["data"]["account"]["entries"]["edges"]
    nodes = [edge["node"] for edge in edges]
    assert len(nodes) == 8 and nodes[0]["prevHash"] == GENESIS_HASH
    for before, after in itertools.pairwise(nodes):
        assert after["prevHash"] == before["hash"]
    assert all(len(node["hash"]) == 64 for node in nodes)


def test_the_standalone_script_accepts_an_exported_statement(gql: Gql, alice: Account, tmp_path: Path) -> None:
    code, output = verify(tmp_path, export(gql, alice))
    assert (code, output.strip()) == (0, "OK: 8 entries, the chain holds")


@pytest.mark.parametrize(
    ("change", "broken_at"),
    [
        (lambda nodes: nodes[3].update(amount="-12.35" if nodes[3]["amount"] != "-12.35" else "-12.36"), 4),
        (lambda nodes: nodes[2].update(balanceAfter="0.01"), 3),
        (lambda nodes: nodes.pop(4), 6),  # a dropped entry: the next one is out of place
        (lambda nodes: nodes[5].update(createdAt="2020-01-01T00:00:00.000000+00:00"), 6),
        (lambda nodes: nodes[1].update(hash="f" * 64), 2),
    ],
    ids=["amount", "balance", "dropped", "time", "hash"],
)
def test_the_standalone_script_names_the_first_tampered_entry(
    gql: Gql, alice: Account, tmp_path: Path, change: Any, broken_at: int
) -> None:
    statement = copy.deepcopy(export(gql, alice))
    nodes = [edge["node"] for edge in statement["data"]["account"]["entries"]["edges"]]
    change(nodes)
    statement["data"]["account"]["entries"]["edges"] = [{"node": node} for node in nodes]
    code, output = verify(tmp_path, statement)
    assert code == 1 and output.startswith(f"BROKEN: entry sequence {broken_at}"), output


def test_a_statement_that_starts_later_chains_from_its_first_prev_hash(
    gql: Gql, alice: Account, tmp_path: Path
) -> None:
    statement = copy.deepcopy(export(gql, alice))
    edges = statement["data"]["account"]["entries"]["edges"]
    statement["data"]["account"]["entries"]["edges"] = edges[3:]
    assert verify(tmp_path, statement)[0] == 0
    edges[4]["node"]["amount"] = "1.00"
    assert verify(tmp_path, statement)[0] == 1


def test_the_standalone_script_refuses_what_is_not_a_statement(tmp_path: Path) -> None:
    code, output = verify(tmp_path, {"data": {"account": None}})
    assert code == 2 and "not a statement" in output
