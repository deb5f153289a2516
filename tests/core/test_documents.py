import pytest

from core.documents import DocumentType, cnpj_check_digits, cpf_check_digits, validate_document
from core.errors import ErrorCode, LedgerError


@pytest.mark.parametrize(
    ("raw", "normalized", "kind"),
    [
        ("529.982.247-25", "52998224725", DocumentType.CPF),
        ("  52998224725 ", "52998224725", DocumentType.CPF),
        ("11.222.333/0001-81", "11222333000181", DocumentType.CNPJ),
        ("12.ABC.345/01DE-35", "12ABC34501DE35", DocumentType.CNPJ),  # Receita Federal's alphanumeric example
        ("12abc34501de35", "12ABC34501DE35", DocumentType.CNPJ),
    ],
)
def test_valid_documents_are_normalized(raw: str, normalized: str, kind: DocumentType) -> None:
    assert validate_document(raw) == (normalized, kind)


@pytest.mark.parametrize(
    "raw",
    [
        "52998224726",
        "11111111111",
        "00000000000",
        "11222333000182",
        "12ABC34501DE36",
        "00000000000000",
        "1234",
        "",
        "5299822472a",
        "12ABC34501DEX5",
        "529 982 247 25",
        "123456789012345",
    ],
)
def test_invalid_documents_are_refused(raw: str) -> None:
    with pytest.raises(LedgerError) as caught:
        validate_document(raw)
    assert caught.value.code == ErrorCode.INVALID_DOCUMENT
    assert caught.value.field == "document"


def test_generated_check_digits_validate() -> None:
    assert cpf_check_digits("529982247") == "25"
    assert cnpj_check_digits("12ABC34501DE") == "35"
    assert cnpj_check_digits("112223330001") == "81"
