"""verify_ledger checks that every stored document is canonical (issue 9): ASCII, normalized, valid, of its type."""

from __future__ import annotations

import pytest

from accounts.models import Account
from tests.commands.support import raw, verify

pytestmark = pytest.mark.django_db

CHECK = "documents are canonical"


def test_a_healthy_ledgers_documents_are_canonical(busy_ledger: tuple[Account, Account]) -> None:
    code, output = verify()
    assert code == 0, output
    line = next(line for line in output.splitlines() if CHECK in line)
    assert line.startswith("OK") and "(3 accounts)" in line, line


@pytest.mark.parametrize(
    "document",
    [
        pytest.param("".join(chr(0xFF10 + int(d)) for d in "52998224725"), id="full-width-digits"),
        pytest.param("529.982.247-25", id="not-normalized"),
        pytest.param("52998224726", id="check-digits"),
        pytest.param("11222333000181", id="a-cnpj-stored-as-cpf"),
    ],
)
def test_verify_ledger_exits_1_when_a_document_is_tampered_with(
    busy_ledger: tuple[Account, Account], document: str
) -> None:
    victim = busy_ledger[1].pk
    raw("UPDATE accounts_account SET document = %s WHERE id = %s", [document, victim])
    code, output = verify()
    assert code == 1, output
    line = next(line for line in output.splitlines() if CHECK in line)
    assert line.startswith("BREACH") and f"account {victim}" in line, line
    assert document not in output  # operators' output names accounts, not their CPFs
