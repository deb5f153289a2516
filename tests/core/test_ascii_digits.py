"""Documents and amounts take ASCII digits only (issue 9): look-alike digits are refused, never read.

Python's ``\\d``, ``int()``, ``Decimal()`` and ``str.upper()``, and
python-stdnum's ``clean()``, all read full-width (U+FF10..) and Arabic-Indic
(U+0660..) digits as digits: before the fix a full-width CPF opened a second
account for an existing CPF, and a full-width "1" moved 1.00.
"""

from __future__ import annotations

import importlib
import io
from contextlib import redirect_stderr
from decimal import Decimal

import pytest
from django.apps import apps

from accounts.models import Account
from accounts.services import account_create
from core.documents import DocumentType, cnpj_check_digits, is_canonical, validate_document
from core.errors import ErrorCode, LedgerError
from core.money import parse_amount

FULL_WIDTH, ARABIC_INDIC, PERSIAN = 0xFF10, 0x0660, 0x06F0  # each script's digit zero


def lookalike(text: str, zero: int = FULL_WIDTH, only: str = "0123456789") -> str:
    """``text`` with the ASCII digits in ``only`` written in another script's digits."""
    return text.translate({ord(d): zero + int(d) for d in only})


ALNUM_CNPJ = "12FI34501DE3" + cnpj_check_digits("12FI34501DE3")  # holds "FI", which the "ﬁ" ligature upper-cases to

LOOKALIKE_DOCUMENTS = [
    pytest.param(lookalike("529.982.247-25"), id="full-width-cpf"),
    pytest.param(lookalike("52998224725", ARABIC_INDIC), id="arabic-indic-cpf"),
    pytest.param(lookalike("52998224725", PERSIAN), id="persian-cpf"),
    pytest.param(lookalike("52998224725", only="7"), id="one-full-width-digit"),
    pytest.param(lookalike("11.222.333/0001-81"), id="full-width-cnpj"),
    pytest.param("11.222.333/0001-" + lookalike("81"), id="cnpj-check-digits-only"),
    pytest.param(ALNUM_CNPJ.replace("FI", "\ufb01"), id="ligature-in-alphanumeric-cnpj"),
    pytest.param("12\uff21BC34501DE35", id="full-width-letter"),
    pytest.param("52998224725\u00a0", id="no-break-space-around"),
    pytest.param("529\uff0e982\uff0e247\uff0d25", id="full-width-punctuation"),
]


@pytest.mark.parametrize("raw", LOOKALIKE_DOCUMENTS)
def test_a_document_with_look_alike_characters_is_invalid_document(raw: str) -> None:
    with pytest.raises(LedgerError) as caught:
        validate_document(raw)
    assert (caught.value.code, caught.value.field) == (ErrorCode.INVALID_DOCUMENT, "document")


@pytest.mark.parametrize(
    ("raw", "kind"),
    [("529.982.247-25", DocumentType.CPF), ("11.222.333/0001-81", DocumentType.CNPJ), (ALNUM_CNPJ, DocumentType.CNPJ)],
)
def test_the_ascii_documents_still_pass(raw: str, kind: DocumentType) -> None:
    assert validate_document(raw)[1] == kind


@pytest.mark.django_db
def test_a_full_width_cpf_cannot_open_a_second_account_for_that_cpf(settlement: Account) -> None:
    account_create(name="Ana", document="529.982.247-25")
    for raw in (lookalike("529.982.247-25"), lookalike("52998224725", ARABIC_INDIC)):
        with pytest.raises(LedgerError) as caught:
            account_create(name="Ana de novo", document=raw)
        assert caught.value.code == ErrorCode.INVALID_DOCUMENT
    assert Account.objects.filter(kind="CUSTOMER").count() == 1


@pytest.mark.parametrize(
    "value",
    [
        lookalike("1"),
        lookalike("10.50"),
        lookalike("10.50", only="5"),
        lookalike("3", ARABIC_INDIC),
        lookalike("99", PERSIAN),
        "\u00a010.00",  # no-break space: str.strip() would drop it
        "10.00\u3000",  # ideographic space
        "1\u066b50",  # Arabic decimal separator
    ],
)
def test_an_amount_with_look_alike_characters_is_invalid_amount(value: str) -> None:
    with pytest.raises(LedgerError) as caught:
        parse_amount(value, field="balance", allow_zero=True)
    assert (caught.value.code, caught.value.field) == (ErrorCode.INVALID_AMOUNT, "balance")


def test_ascii_amounts_and_decimals_still_parse() -> None:
    assert parse_amount(" 10.50 ") == 1050
    assert parse_amount(Decimal("10.50")) == 1050  # a Decimal prints its digits in ASCII, whatever it was built from


def test_is_canonical_accepts_only_what_validation_makes_of_a_document() -> None:
    assert is_canonical("52998224725", "CPF")
    assert is_canonical("00000000000191", "CNPJ")
    assert not is_canonical(lookalike("52998224725"), "CPF")
    assert not is_canonical("529.982.247-25", "CPF")  # valid, but not normalized
    assert not is_canonical("52998224725", "CNPJ")  # another type
    assert not is_canonical("52998224726", "CPF")  # check digits


# --- accounts/0003: the data migration ------------------------------------------------------------

MIGRATION = importlib.import_module("accounts.migrations.0003_ascii_documents")


@pytest.mark.django_db
def test_the_migration_rewrites_look_alike_digits_and_leaves_a_collision_to_an_operator(settlement: Account) -> None:
    held = account_create(name="Original", document="52998224725")
    fixable = account_create(name="Legado", document="11.222.333/0001-81")
    duplicate = account_create(name="Duplicata", document="111.444.777-35")
    # What the old rules stored: the document as typed, in look-alike digits (the index saw a new value).
    Account.objects.filter(pk=fixable.pk).update(document=lookalike("11222333000181", ARABIC_INDIC))
    Account.objects.filter(pk=duplicate.pk).update(document=lookalike("52998224725"))
    stderr = io.StringIO()
    with redirect_stderr(stderr):
        MIGRATION.canonical_documents(apps, None)
    documents = dict(Account.objects.values_list("pk", "document"))
    assert documents[fixable.pk] == "11222333000181"
    assert documents[held.pk] == "52998224725"
    assert documents[duplicate.pk] == lookalike("52998224725")  # left: merging accounts is a person's decision
    assert f"{duplicate.pk}" in stderr.getvalue() and "verify_ledger" in stderr.getvalue()
    MIGRATION.canonical_documents(apps, None)  # idempotent
    assert dict(Account.objects.values_list("pk", "document")) == documents
