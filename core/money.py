r"""Exact money: amounts travel as ``int`` centavos inside the code.

They become ``Decimal`` strings with two places only at the edges (the API, the
admin, the commands). No float ever holds an amount: a float input is accepted
only through its shortest decimal representation, and only when that has at
most two decimal places.

Amounts are ASCII: ``\d``, ``int()`` and ``Decimal()`` all read full-width
and Arabic-Indic digits (``int("\uff11") == 1``), so a text amount with any
non-ASCII character is refused before it is read, and the patterns say
``[0-9]``.
"""

from __future__ import annotations

import re
from decimal import Decimal

from core.errors import ErrorCode, LedgerError

MAX_CENTS = 99_999_999_999_999  # 999,999,999,999.99
NOT_A_NUMBER = 'expected a decimal number such as "10.50"'
# Digits, an optional point and up to two decimals: no sign, no exponent, no spaces inside.
_AMOUNT_RE = re.compile(r"^(?P<units>[0-9]+)(?:\.(?P<frac>[0-9]{0,2}))?$|^\.(?P<only_frac>[0-9]{1,2})$")


def _invalid(reason: str, field: str) -> LedgerError:
    return LedgerError(ErrorCode.INVALID_AMOUNT, f"Invalid amount: {reason}.", field)


def parse_amount(value: object, *, field: str = "amount", allow_zero: bool = False) -> int:
    """Converts an input amount (str, int, Decimal or a two-place float) to centavos.

    Refuses, with INVALID_AMOUNT: blanks, signs, exponents, NaN/Infinity, more than
    two decimal places, zero (unless ``allow_zero``) and anything above
    999999999999.99 (``check_cents``, the one range rule).
    """
    return check_cents(_cents_of(value, field), field=field, allow_zero=allow_zero)


def _cents_of(value: object, field: str) -> int:
    """The centavos an input spells, whatever its sign or size (``check_cents`` rules on those)."""
    if isinstance(value, bool) or value is None:
        raise _invalid(NOT_A_NUMBER, field)
    if isinstance(value, int):
        return value * 100
    if isinstance(value, float):
        # repr() gives the shortest string that round-trips: 0.1 -> "0.1", never 0.1000000000000000055.
        text = repr(value)
        if not re.fullmatch(r"-?[0-9]+\.[0-9]+", text):
            raise _invalid("exponents, NaN and Infinity are not amounts", field)
        return _cents_from_text(text, field)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _invalid("NaN and Infinity are not amounts", field)
        return _cents_from_text(format(value, "f"), field)
    if isinstance(value, str):
        if not value.isascii():
            raise _invalid("ASCII digits only", field)
        return _cents_from_text(value.strip(), field)
    raise _invalid(NOT_A_NUMBER, field)


def _cents_from_text(text: str, field: str) -> int:
    if text.startswith("-"):
        raise _invalid("must be greater than 0", field)
    match = _AMOUNT_RE.match(text)
    if match is None:
        if re.fullmatch(r"[0-9]*\.[0-9]{3,}", text):
            raise _invalid("at most two decimal places", field)
        raise _invalid(NOT_A_NUMBER, field)
    if match.group("only_frac") is not None:
        return int(match.group("only_frac").ljust(2, "0"))
    units = match.group("units")
    if len(units) > 15:  # refuse absurd lengths before int() does any work
        raise _invalid(TOO_LARGE, field)
    frac = (match.group("frac") or "").ljust(2, "0")
    return int(units) * 100 + int(frac)


def to_decimal(cents: int) -> Decimal:
    """Centavos as a two-place Decimal, for the API edge."""
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def format_amount(cents: int) -> str:
    """Centavos as the contract prints them: "-1234.50"."""
    sign = "-" if cents < 0 else ""
    units, frac = divmod(abs(cents), 100)
    return f"{sign}{units}.{frac:02d}"


TOO_LARGE = f"at most {format_amount(MAX_CENTS)}"


def check_cents(cents: int, *, field: str = "amount", allow_zero: bool = False) -> int:
    """The range rule of every amount: whole centavos, above 0 (or 0 when allowed), at most ``MAX_CENTS``.

    ``parse_amount`` ends with it, and the services call it on every input.
    """
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise _invalid("expected whole centavos", field)
    if cents < 0 or (cents == 0 and not allow_zero):
        raise _invalid("must be greater than 0" if not allow_zero else "must not be negative", field)
    if cents > MAX_CENTS:
        raise _invalid(TOO_LARGE, field)
    return cents
