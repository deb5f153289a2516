r"""CPF and CNPJ: normalization and check-digit validation.

Check digits come from python-stdnum, which implements the alphanumeric CNPJ
(Receita Federal, in force since July 2026: each of the 12 leading characters
is worth its ASCII code minus 48). Two rules are ours, from the contract: the
punctuation we drop, and that a CPF of one repeated digit is invalid (stdnum
accepts it because its check digits happen to match).

Documents are ASCII. Python's ``\d`` and ``str.upper()`` and stdnum's
``clean()`` all accept look-alikes (full-width digits U+FF10..U+FF19,
Arabic-Indic U+0660..U+0669, the U+FB01 "fi" ligature): a CPF typed in
full-width digits was validated, stored as typed, and so escaped the UNIQUE
index that its ASCII form holds. Any
non-ASCII character is refused before anything else looks at the text, and
the patterns name their characters (``[0-9]``), never ``\d``.
"""

from __future__ import annotations

import enum
import re

from stdnum.br import cnpj as stdnum_cnpj
from stdnum.br import cpf as stdnum_cpf

from core.choices import member_descriptions
from core.errors import ErrorCode, LedgerError

_PUNCTUATION = re.compile(r"[.\-/]")
_CPF_RE = re.compile(r"[0-9]{11}")
_CNPJ_RE = re.compile(r"[0-9A-Z]{12}[0-9]{2}")


class DocumentType(enum.StrEnum):
    """Which Brazilian document identifies the account holder."""

    CPF = "CPF"
    CNPJ = "CNPJ"

    description = member_descriptions(
        CPF="A person's CPF: 11 digits, shown as 529.982.247-25.",
        CNPJ="A company's CNPJ: 14 characters (digits, or upper-case letters in the first 12 of the "
        "alphanumeric CNPJ), shown as 11.222.333/0001-81.",
    )


def format_document(document: str) -> str:
    """A normalized document as people write it: 529.982.247-25 (CPF), 11.222.333/0001-81 (CNPJ); else as is."""
    if len(document) == 11:
        return f"{document[:3]}.{document[3:6]}.{document[6:9]}-{document[9:]}"
    if len(document) == 14:
        return f"{document[:2]}.{document[2:5]}.{document[5:8]}/{document[8:12]}-{document[12:]}"
    return document


def normalize_document(raw: str) -> str:
    """Drops surrounding spaces and ``. - /``, upper-cases letters."""
    return _PUNCTUATION.sub("", raw.strip()).upper()


def validate_document(raw: str, *, field: str = "document") -> tuple[str, DocumentType]:
    """Returns the normalized document and its type, or raises INVALID_DOCUMENT."""
    if not isinstance(raw, str):
        raise LedgerError(ErrorCode.INVALID_DOCUMENT, "The document must be a CPF or a CNPJ.", field)
    if not raw.isascii():
        raise LedgerError(
            ErrorCode.INVALID_DOCUMENT, "The document takes ASCII digits (and, in a CNPJ, A-Z) only.", field
        )
    document = normalize_document(raw)
    if _CPF_RE.fullmatch(document):
        if len(set(document)) == 1:
            raise LedgerError(ErrorCode.INVALID_DOCUMENT, "Invalid CPF: one repeated digit.", field)
        if stdnum_cpf.is_valid(document):
            return document, DocumentType.CPF
        raise LedgerError(ErrorCode.INVALID_DOCUMENT, "Invalid CPF: check digits do not match.", field)
    if _CNPJ_RE.fullmatch(document):
        if stdnum_cnpj.is_valid(document):
            return document, DocumentType.CNPJ
        raise LedgerError(ErrorCode.INVALID_DOCUMENT, "Invalid CNPJ: check digits do not match.", field)
    raise LedgerError(
        ErrorCode.INVALID_DOCUMENT,
        "The document must be a CPF (11 digits) or a CNPJ (12 digits or letters, then 2 digits).",
        field,
    )


def is_canonical(document: str, document_type: str) -> bool:
    """Whether a stored document is what ``validate_document`` makes of it, and of the stored type."""
    try:
        normalized, kind = validate_document(document)
    except LedgerError:
        return False
    return normalized == document and kind.value == document_type


def cpf_check_digits(first_nine: str) -> str:
    """The two check digits of a CPF: used to generate valid demo documents."""
    digits = [int(c) for c in first_nine]
    first = sum(w * d for w, d in zip(range(10, 1, -1), digits, strict=True)) * 10 % 11 % 10
    second = sum(w * d for w, d in zip(range(11, 1, -1), [*digits, first], strict=True)) * 10 % 11 % 10
    return f"{first}{second}"


def cnpj_check_digits(first_twelve: str) -> str:
    """The two check digits of a CNPJ (numeric or alphanumeric)."""
    return stdnum_cnpj.calc_check_digits(first_twelve)
