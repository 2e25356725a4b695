"""Tax per rate on the invoice total, exclusive and inclusive, exempt and reverse charge."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import Money, PricingError, RoundingMode
from domain.tax import TaxableLine, TaxRate, TaxStatus, compute_tax

STANDARD = TaxRate("FR-standard", Decimal("20"))
REDUCED = TaxRate("FR-reduced", Decimal("5.5"))


def _eur(value: str) -> Money:
    return Money.of(value, "EUR")


def _lines(rate: TaxRate, *amounts: str) -> list[TaxableLine]:
    return [TaxableLine(_eur(a), rate) for a in amounts]


def test_tax_is_rounded_once_per_rate_on_the_total_not_per_line() -> None:
    lines = _lines(STANDARD, "0.02", "0.02", "0.02")  # 0.004 each: per line 0.00, on the total 0.012 -> 0.01
    result = compute_tax(lines, "EUR")
    assert result.tax == _eur("0.01")
    assert [line.tax for line in result.lines] == [_eur("0.01"), _eur("0.00"), _eur("0.00")]
    assert (result.net, result.gross) == (_eur("0.06"), _eur("0.07"))


def test_per_rate_breakdown_exclusive() -> None:
    lines = [*_lines(STANDARD, "29.99", "10.00"), *_lines(REDUCED, "7.99")]
    result = compute_tax(lines, "EUR")
    by_code = {r.rate.code: r for r in result.by_rate}
    assert [r.rate.code for r in result.by_rate] == ["FR-reduced", "FR-standard"]
    assert (by_code["FR-standard"].net, by_code["FR-standard"].tax) == (_eur("39.99"), _eur("8.00"))  # 7.998
    assert (by_code["FR-reduced"].net, by_code["FR-reduced"].tax) == (_eur("7.99"), _eur("0.44"))  # 0.43945
    assert (result.net, result.tax, result.gross) == (_eur("47.98"), _eur("8.44"), _eur("56.42"))
    assert result.reason is None


def test_tax_inclusive_prices_extract_the_tax() -> None:
    result = compute_tax(_lines(STANDARD, "29.99", "10.00"), "EUR", inclusive=True)
    assert result.gross == _eur("39.99")
    assert result.tax == _eur("6.67")  # 39.99 * 20 / 120 = 6.665
    assert result.net == _eur("33.32")
    assert sum(line.gross.amount_minor for line in result.lines) == 3999
    half_even = compute_tax(_lines(STANDARD, "39.99"), "EUR", inclusive=True, mode=RoundingMode.HALF_EVEN)
    assert half_even.tax == _eur("6.66")  # the exact tie 6.665 goes to even, not blurred by 20/120


@pytest.mark.parametrize("status", [TaxStatus.EXEMPT, TaxStatus.REVERSE_CHARGE])
def test_exempt_and_reverse_charge_pay_no_tax_with_a_reason(status: TaxStatus) -> None:
    exclusive = compute_tax(_lines(STANDARD, "100.00"), "EUR", status=status)
    assert (exclusive.tax, exclusive.net, exclusive.gross) == (_eur("0"), _eur("100"), _eur("100"))
    assert exclusive.reason == status.value
    assert exclusive.by_rate[0].reason == status.value
    inclusive = compute_tax(_lines(STANDARD, "120.00"), "EUR", inclusive=True, status=status)
    assert (inclusive.tax, inclusive.gross) == (_eur("0"), _eur("100.00"))


def test_currencies_and_rates_are_checked() -> None:
    for bad in ("-1", "100.01"):
        with pytest.raises(PricingError) as error:
            TaxRate("x", Decimal(bad))
        assert error.value.code == "tax_rate_out_of_range"
    assert TaxRate("zero", Decimal(0)).percent == 0 and TaxRate("all", Decimal(100)).percent == 100
    with pytest.raises(PricingError) as error:
        compute_tax([TaxableLine(Money(100, "USD"), STANDARD)], "EUR")
    assert error.value.code == "currency_mismatch"
    assert compute_tax([TaxableLine(Money(1000, "JPY"), REDUCED)], "JPY").tax == Money(55, "JPY")
    assert compute_tax([TaxableLine(Money(1999, "KWD"), REDUCED)], "KWD").tax == Money(110, "KWD")  # 0.109945


def test_credits_reduce_the_rates_base() -> None:
    result = compute_tax([*_lines(STANDARD, "200.00"), TaxableLine(_eur("-54.84"), STANDARD)], "EUR")
    assert result.tax == _eur("29.03")  # 145.16 * 20% = 29.032
    assert [line.tax for line in result.lines] == [_eur("40.00"), _eur("-10.97")]


RATES = st.sampled_from([STANDARD, REDUCED, TaxRate("DE", Decimal(19)), TaxRate("zero", Decimal(0))])
LINES = st.lists(
    st.builds(TaxableLine, st.builds(Money, st.integers(-(10**6), 10**7), st.just("EUR")), RATES)
)


@given(LINES, st.booleans(), st.randoms(use_true_random=False))
def test_totals_do_not_depend_on_the_order_of_lines(
    lines: list[TaxableLine], inclusive: bool, rng: random.Random
) -> None:
    shuffled = list(lines)
    rng.shuffle(shuffled)
    a, b = compute_tax(lines, "EUR", inclusive=inclusive), compute_tax(shuffled, "EUR", inclusive=inclusive)
    assert (a.by_rate, a.net, a.tax, a.gross) == (b.by_rate, b.net, b.tax, b.gross)


@given(LINES, st.booleans(), st.sampled_from(list(RoundingMode)))
def test_line_taxes_add_up_to_each_rate_and_totals_balance(
    lines: list[TaxableLine], inclusive: bool, mode: RoundingMode
) -> None:
    result = compute_tax(lines, "EUR", inclusive=inclusive, mode=mode)
    assert len(result.lines) == len(lines)
    assert sum(line.tax.amount_minor for line in result.lines) == result.tax.amount_minor
    assert result.net + result.tax == result.gross
    for line, taxed in zip(lines, result.lines, strict=True):
        assert (taxed.gross if inclusive else taxed.net) == line.amount
    for rate_total in result.by_rate:
        stated = sum(line.amount.amount_minor for line in lines if line.rate == rate_total.rate)
        base = (
            Decimal(stated) * rate_total.rate.percent / (100 + (rate_total.rate.percent if inclusive else 0))
        )
        assert abs(rate_total.tax.amount_minor - base) < 1
