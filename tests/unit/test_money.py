"""Money, minor units and the one rounding function."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.currency import MINOR_UNITS
from domain.errors import RuleViolation
from domain.money import Money, PricingError, RoundingMode, allocate, as_decimal, quantize, round_minor

CURRENCIES = sorted(MINOR_UNITS)


def test_of_reads_major_units_in_each_currencys_minor_unit() -> None:
    assert Money.of("599.95", "USD") == Money(59995, "USD")
    assert Money.of(1200, "JPY") == Money(1200, "JPY")
    assert Money.of(Decimal("1.234"), "KWD") == Money(1234, "KWD")
    assert Money.of("599.950", "USD") == Money(59995, "USD")  # trailing zeros are not extra precision


@pytest.mark.parametrize(("value", "currency"), [("0.5", "JPY"), ("1.001", "EUR"), ("1.2345", "KWD")])
def test_of_rejects_more_decimals_than_the_currency_has(value: str, currency: str) -> None:
    with pytest.raises(PricingError) as error:
        Money.of(value, currency)
    assert error.value.code == "currency_precision"
    assert currency in error.value.message
    assert isinstance(error.value, RuleViolation) and error.value.status == 422


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(PricingError) as error:
        Money(100, "XXX")
    assert error.value.code == "currency_unknown"


@pytest.mark.parametrize("bad", [1.5, float("nan")])
def test_floats_are_refused_everywhere(bad: float) -> None:
    with pytest.raises(TypeError):
        Money.of(bad, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        round_minor(bad, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        quantize(bad, 4)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(bad, "EUR")  # type: ignore[arg-type]


def test_non_numbers_are_a_pricing_error() -> None:
    for bad in ("abc", "NaN", "Infinity"):
        with pytest.raises(PricingError) as error:
            as_decimal(bad)
        assert error.value.code == "number_invalid"


def test_arithmetic_needs_one_currency() -> None:
    a, b = Money.of("10.00", "EUR"), Money.of("2.50", "EUR")
    assert a + b == Money(1250, "EUR")
    assert a - b == Money(750, "EUR")
    assert -a == Money(-1000, "EUR")
    with pytest.raises(PricingError) as error:
        _ = a + Money(1, "USD")
    assert error.value.code == "currency_mismatch"
    with pytest.raises(TypeError):
        _ = a + 1  # type: ignore[operator]


def test_to_decimal_and_format() -> None:
    assert Money(59995, "USD").to_decimal() == Decimal("599.95")
    assert Money(59995, "USD").format() == "599.95 USD"
    assert Money(-1500, "KWD").format() == "-1.500 KWD"
    assert Money(1200, "JPY").format() == "1200 JPY"
    assert Money(0, "EUR").format() == "0.00 EUR"
    assert str(Money(5, "EUR")) == "0.05 EUR"


@pytest.mark.parametrize(
    ("value", "mode", "expected"),
    [
        ("0.125", RoundingMode.HALF_UP, 13),
        ("0.125", RoundingMode.HALF_EVEN, 12),
        ("0.135", RoundingMode.HALF_EVEN, 14),
        ("0.121", RoundingMode.UP, 13),
        ("0.129", RoundingMode.DOWN, 12),
        ("-0.125", RoundingMode.HALF_UP, -13),
        ("-0.121", RoundingMode.UP, -13),
        ("-0.129", RoundingMode.DOWN, -12),
    ],
)
def test_round_minor_modes(value: str, mode: RoundingMode, expected: int) -> None:
    assert round_minor(Decimal(value), "EUR", mode) == expected


def test_round_minor_uses_the_currencys_minor_unit() -> None:
    assert round_minor(Decimal("1234.5"), "JPY") == 1235
    assert round_minor(Decimal("1.2345"), "KWD") == 1235
    assert round_minor(Decimal("561.2403225806"), "USD") == 56124


def test_quantize_for_non_currency_precision() -> None:
    assert quantize(Decimal("0.71666666"), 4, RoundingMode.UP) == Decimal("0.7167")
    assert quantize(Decimal("0.71665"), 4) == Decimal("0.7167")
    assert quantize(Decimal("0.71665"), 4, RoundingMode.HALF_EVEN) == Decimal("0.7166")


def test_allocate_spreads_a_rounded_total_exactly() -> None:
    assert allocate(100, [Decimal("33.3333"), Decimal("33.3333"), Decimal("33.3334")]) == [33, 33, 34]
    assert allocate(-3, [Decimal("-1.5"), Decimal("-1.5")]) == [-1, -2]
    with pytest.raises(PricingError) as error:
        allocate(10, [Decimal("1"), Decimal("2")])
    assert error.value.code == "allocation_invalid"


@given(st.integers(-(10**12), 10**12), st.integers(-(10**12), 10**12), st.sampled_from(CURRENCIES))
def test_addition_is_exact_and_reversible(a: int, b: int, currency: str) -> None:
    x, y = Money(a, currency), Money(b, currency)
    assert (x + y) - y == x
    assert x + (-x) == Money.zero(currency)


@given(st.integers(-(10**12), 10**12), st.sampled_from(CURRENCIES))
def test_of_and_to_decimal_round_trip(amount: int, currency: str) -> None:
    money = Money(amount, currency)
    assert Money.of(money.to_decimal(), currency) == money
    assert Money.of(money.format().split()[0], currency) == money


@given(
    st.decimals(min_value=-(10**9), max_value=10**9, places=6, allow_nan=False, allow_infinity=False),
    st.sampled_from(CURRENCIES),
    st.sampled_from(list(RoundingMode)),
)
def test_round_minor_is_within_one_minor_unit_and_symmetric(
    value: Decimal, currency: str, mode: RoundingMode
) -> None:
    rounded = round_minor(value, currency, mode)
    exact = value.scaleb(MINOR_UNITS[currency])
    assert abs(rounded - exact) < 1
    assert round_minor(-value, currency, mode) == -rounded
