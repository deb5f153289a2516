"""The printed schema is committed, and it carries the whole public contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from graphql import build_schema
from graphql.utilities import find_breaking_changes

from ledger_project.schema import schema

ROOT = Path(settings.BASE_DIR)
CONTRACT = ROOT.parent / "shared" / "api" / "schema.graphql"


def test_committed_schema_graphql_is_the_printed_schema() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed.strip() == str(schema).strip(), "run: python manage.py graphql_schema --out schema.graphql"


def test_printed_schema_breaks_nothing_in_the_contract() -> None:
    if not CONTRACT.exists():
        pytest.skip("the shared contract is not beside this checkout")
    breaking = find_breaking_changes(build_schema(CONTRACT.read_text()), build_schema(str(schema)))
    assert [f"{change.type.name}: {change.description}" for change in breaking] == []


ADDITIONS = ROOT.parent / "shared" / "api" / "additions"
# Each resolved issue adds the file of its addition here; it binds like the contract from then on.
IMPLEMENTED_ADDITIONS: list[str] = ["records.graphql", "money-controls.graphql"]


@pytest.mark.parametrize("name", IMPLEMENTED_ADDITIONS)
def test_printed_schema_carries_each_implemented_addition(name: str) -> None:
    addition = ADDITIONS / name
    if not addition.exists():
        pytest.skip("the shared additions are not beside this checkout")
    contract = build_schema(CONTRACT.read_text() + "\n" + addition.read_text())
    breaking = find_breaking_changes(contract, build_schema(str(schema)))
    assert [f"{change.type.name}: {change.description}" for change in breaking] == []
