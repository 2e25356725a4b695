"""Proration by days: the published scenarios and the properties every proration keeps."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import Money, PricingError, RoundingMode
from domain.periods import BillingPeriodUnit, Period, next_period, period_containing
from domain.proration import (
    BillingTiming,
    charge_active_days,
    charge_arrears,
    charge_from,
    credit_from,
    plan_change,
    prorate,
    prorate_span,
    resume_charge,
    suspend_credit,
)

MONTH = BillingPeriodUnit.MONTH
JANUARY = Period(date(2024, 1, 1), date(2024, 2, 1))


def test_kill_bill_start_mid_period_with_bcd_31() -> None:
    price = Money.of("599.95", "USD")
    period = period_containing(date(2012, 3, 2), 31, MONTH)
    first = charge_from(price, period, date(2012, 3, 2))
    assert (first.start, first.end, first.days, first.period_days) == (
        date(2012, 3, 2),
        date(2012, 3, 31),
        29,
        31,
    )
    assert first.amount == Money.of("561.24", "USD")
    following = next_period(period, 31, MONTH)
    full = charge_from(price, following, following.start)
    assert (following.start, following.end) == (date(2012, 3, 31), date(2012, 4, 30))
    assert full.amount == Money.of("599.95", "USD")


def test_lago_upgrade_in_arrears_counts_both_dates() -> None:
    old, new = plan_change(
        Money.of(100, "EUR"), Money.of(200, "EUR"), JANUARY, date(2024, 1, 15), BillingTiming.IN_ARREARS
    )
    assert (old.start, old.end - timedelta(days=1), old.days) == (date(2024, 1, 1), date(2024, 1, 14), 14)
    assert old.amount == Money.of("45.16", "EUR")
    assert (new.start, new.end - timedelta(days=1), new.days) == (date(2024, 1, 15), date(2024, 1, 31), 17)
    assert new.amount == Money.of("109.68", "EUR")


def test_upgrade_in_advance_credits_old_unused_and_charges_new_remaining() -> None:
    credit, charge = plan_change(Money.of(100, "EUR"), Money.of(200, "EUR"), JANUARY, date(2024, 1, 15))
    assert credit.is_credit and credit.amount == Money.of("-54.84", "EUR")  # 17/31 * 100
    assert charge.amount == Money.of("109.68", "EUR")


def test_stop_and_suspension_credit_unused_days_resume_charges_the_rest() -> None:
    price = Money.of("30.00", "EUR")
    assert credit_from(price, JANUARY, date(2024, 1, 21)).amount == Money.of("-10.65", "EUR")  # 11/31
    assert suspend_credit(price, JANUARY, date(2024, 1, 21)).amount == Money.of("-10.65", "EUR")
    assert resume_charge(price, JANUARY, date(2024, 1, 26)).amount == Money.of("5.81", "EUR")  # 6/31


def test_arrears_partial_periods_and_suspension_gap_round_once() -> None:
    price = Money.of("31.00", "EUR")
    assert charge_arrears(price, JANUARY).amount == price
    assert charge_arrears(price, JANUARY, start=date(2024, 1, 11)).amount == Money.of("21.00", "EUR")
    assert charge_arrears(price, JANUARY, end=date(2024, 1, 11)).amount == Money.of("10.00", "EUR")
    spans = [(date(2024, 1, 20), date(2024, 2, 1)), (date(2024, 1, 1), date(2024, 1, 5))]
    active = charge_active_days(Money.of("10.00", "EUR"), JANUARY, spans)
    assert (active.days, active.amount) == (16, Money.of("5.16", "EUR"))  # 16/31 * 10, not 1.29 + 3.87


def test_currencies_round_to_their_own_minor_unit() -> None:
    assert prorate(1000, "JPY", 10, 31) == 323  # 322.58 -> 323 yen
    assert prorate(10_000, "KWD", 10, 31) == 3226  # 3.2258 -> 3.226 KWD
    assert prorate(1000, "EUR", 10, 31, RoundingMode.DOWN) == 322
    assert prorate(1000, "EUR", 10, 31, RoundingMode.UP) == 323


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: prorate(100, "EUR", 32, 31), "days_out_of_range"),
        (lambda: prorate(100, "EUR", 1, 0), "period_invalid"),
        (lambda: charge_from(Money.of(1, "EUR"), JANUARY, date(2024, 2, 1)), "date_outside_period"),
        (
            lambda: prorate_span(Money.of(1, "EUR"), JANUARY, date(2024, 1, 5), date(2024, 1, 4)),
            "span_outside_period",
        ),
        (
            lambda: charge_active_days(
                Money.of(1, "EUR"),
                JANUARY,
                [(date(2024, 1, 1), date(2024, 1, 10)), (date(2024, 1, 5), date(2024, 1, 6))],
            ),
            "span_invalid",
        ),
    ],
)
def test_bad_proration_input(call: object, code: str) -> None:
    with pytest.raises(PricingError) as error:
        call()  # type: ignore[operator]
    assert error.value.code == code


PRICES = st.integers(0, 10**9)
CURRENCIES = st.sampled_from(["EUR", "USD", "JPY", "KWD", "BHD", "CLF"])
MODES = st.sampled_from(list(RoundingMode))


@st.composite
def periods_with_a_day(draw: st.DrawFn) -> tuple[Period, date]:
    start = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31)))
    unit = draw(st.sampled_from(list(BillingPeriodUnit)))
    period = period_containing(start, draw(st.integers(1, 7)), unit, draw(st.integers(1, 3)))
    day = period.start + timedelta(days=draw(st.integers(0, period.days - 1)))
    return period, day


@given(PRICES, CURRENCIES, periods_with_a_day(), MODES)
def test_parts_of_a_period_add_up_to_its_price_within_one_minor_unit(
    amount: int, currency: str, split: tuple[Period, date], mode: RoundingMode
) -> None:
    period, day = split
    price = Money(amount, currency)
    before = prorate_span(price, period, period.start, day, mode)
    after = prorate_span(price, period, day, period.end, mode)
    assert abs(before.amount.amount_minor + after.amount.amount_minor - amount) <= 1


@given(PRICES, CURRENCIES, periods_with_a_day(), MODES)
def test_a_full_period_credit_equals_its_charge(
    amount: int, currency: str, split: tuple[Period, date], mode: RoundingMode
) -> None:
    period, day = split
    price = Money(amount, currency)
    assert (
        credit_from(price, period, period.start, mode).amount
        == -charge_from(price, period, period.start, mode).amount
    )
    assert charge_from(price, period, period.start, mode).amount == price
    assert credit_from(price, period, day, mode).amount == -charge_from(price, period, day, mode).amount


@given(PRICES, PRICES, CURRENCIES, periods_with_a_day())
def test_plan_change_in_advance_and_in_arrears_bill_the_same_days(
    old: int, new: int, currency: str, split: tuple[Period, date]
) -> None:
    period, change = split
    old_price, new_price = Money(old, currency), Money(new, currency)
    credit, charge = plan_change(old_price, new_price, period, change)
    kept, used = plan_change(old_price, new_price, period, change, BillingTiming.IN_ARREARS)
    assert credit.days + kept.days == period.days
    assert charge == used
    assert abs(old_price.amount_minor + credit.amount.amount_minor - kept.amount.amount_minor) <= 1
