from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ErrorCode, LedgerError
from core.money import MAX_CENTS, check_cents, format_amount, parse_amount, to_decimal


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        ("10", 1000),
        ("10.5", 1050),
        ("10.50", 1050),
        ("0.01", 1),
        (" 7.25 ", 725),
        (1000, 100_000),
        (10.5, 1050),
        (Decimal("12.30"), 1230),
        ("999999999999.99", MAX_CENTS),
    ],
)
def test_amounts_parse_to_exact_centavos(value: object, cents: int) -> None:
    assert parse_amount(value) == cents


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "-1",
        "+1",
        "1e3",
        "1E3",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "10.505",
        "1 0",
        "1,00",
        "1000000000000.00",
        "0",
        "0.00",
        0,
        -5,
        10.555,
        float("nan"),
        float("inf"),
        1e16,
        True,
        None,
        [],
        "0x10",
        Decimal("NaN"),
        Decimal("1.001"),
        Decimal("-1"),
    ],
)
def test_refused_amounts_are_invalid_amount_on_the_field(value: object) -> None:
    with pytest.raises(LedgerError) as caught:
        parse_amount(value, field="balance")
    assert caught.value.code == ErrorCode.INVALID_AMOUNT
    assert caught.value.field == "balance"


def test_zero_is_allowed_only_when_asked() -> None:
    assert parse_amount("0", allow_zero=True) == 0
    assert check_cents(0, allow_zero=True) == 0
    with pytest.raises(LedgerError):
        check_cents(0)
    with pytest.raises(LedgerError):
        check_cents(MAX_CENTS + 1)


@given(st.integers(min_value=1, max_value=MAX_CENTS))
def test_format_and_parse_round_trip(cents: int) -> None:
    text = format_amount(cents)
    assert parse_amount(text) == cents
    assert to_decimal(cents) == Decimal(text)
    assert len(text.split(".")[1]) == 2


def test_negative_amounts_print_with_a_leading_minus() -> None:
    assert format_amount(-105) == "-1.05"
    assert format_amount(0) == "0.00"
