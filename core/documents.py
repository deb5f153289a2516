"""CPF and CNPJ: normalization and check-digit validation.

Check digits come from python-stdnum, which implements the alphanumeric CNPJ
(Receita Federal, in force since July 2026: each of the 12 leading characters
is worth its ASCII code minus 48). Two rules are ours, from the contract: the
punctuation we drop, and that a CPF of one repeated digit is invalid (stdnum
accepts it because its check digits happen to match).
"""

from __future__ import annotations

import enum
import re

from stdnum.br import cnpj as stdnum_cnpj
from stdnum.br import cpf as stdnum_cpf

from core.errors import ErrorCode, LedgerError

_PUNCTUATION = re.compile(r"[.\-/]")
_CPF_RE = re.compile(r"\d{11}")
_CNPJ_RE = re.compile(r"[0-9A-Z]{12}\d{2}")


class DocumentType(enum.StrEnum):
    CPF = "CPF"
    CNPJ = "CNPJ"


def normalize_document(raw: str) -> str:
    """Drops surrounding spaces and ``. - /``, upper-cases letters."""
    return _PUNCTUATION.sub("", raw.strip()).upper()


def validate_document(raw: str, *, field: str = "document") -> tuple[str, DocumentType]:
    """Returns the normalized document and its type, or raises INVALID_DOCUMENT."""
    if not isinstance(raw, str):
        raise LedgerError(ErrorCode.INVALID_DOCUMENT, "The document must be a CPF or a CNPJ.", field)
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


def cpf_check_digits(first_nine: str) -> str:
    """The two check digits of a CPF: used to generate valid demo documents."""
    digits = [int(c) for c in first_nine]
    first = sum(w * d for w, d in zip(range(10, 1, -1), digits, strict=True)) * 10 % 11 % 10
    second = sum(w * d for w, d in zip(range(11, 1, -1), [*digits, first], strict=True)) * 10 % 11 % 10
    return f"{first}{second}"


def cnpj_check_digits(first_twelve: str) -> str:
    """The two check digits of a CNPJ (numeric or alphanumeric)."""
    return stdnum_cnpj.calc_check_digits(first_twelve)
