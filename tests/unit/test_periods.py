"""Billing periods: bill day anchoring, clamping, units and DST-proof bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import PricingError
from domain.periods import (
    BillingPeriodUnit,
    Period,
    days_in,
    local_midnight,
    next_period,
    period_bounds_utc,
    period_containing,
)

MONTH = BillingPeriodUnit.MONTH
DATES = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))
UNITS = st.sampled_from(list(BillingPeriodUnit))


def _periods(first: Period, bill_day: int, count: int) -> list[Period]:
    periods = [first]
    while len(periods) < count:
        periods.append(next_period(periods[-1], bill_day, MONTH))
    return periods


def test_kill_bill_bcd_31_clamped_in_february() -> None:
    period = period_containing(date(2012, 3, 2), 31, MONTH)
    assert period == Period(date(2012, 2, 29), date(2012, 3, 31))
    assert days_in(period) == 31
    assert next_period(period, 31, MONTH) == Period(date(2012, 3, 31), date(2012, 4, 30))


def test_bcd_31_returns_to_the_bill_day_after_a_clamped_month() -> None:
    first = period_containing(date(2024, 2, 29), 31, MONTH)
    starts = [p.start for p in _periods(first, 31, 5)]
    assert starts == [
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
        date(2024, 6, 30),
    ]


def test_leap_and_common_februaries() -> None:
    assert period_containing(date(2023, 2, 15), 30, MONTH) == Period(date(2023, 1, 30), date(2023, 2, 28))
    assert period_containing(date(2024, 2, 28), 30, MONTH) == Period(date(2024, 1, 30), date(2024, 2, 29))
    assert period_containing(date(2024, 2, 29), 30, MONTH) == Period(date(2024, 2, 29), date(2024, 3, 30))
    assert period_containing(date(2024, 2, 29), 29, MONTH) == Period(date(2024, 2, 29), date(2024, 3, 29))
    assert days_in(period_containing(date(2024, 2, 10), 1, MONTH)) == 29
    assert days_in(period_containing(date(2023, 2, 10), 1, MONTH)) == 28


def test_quarter_and_year_follow_the_calendar_or_the_anchor() -> None:
    quarter = BillingPeriodUnit.QUARTER
    assert period_containing(date(2024, 5, 20), 15, quarter) == Period(date(2024, 4, 15), date(2024, 7, 15))
    anchored = period_containing(date(2024, 5, 20), 15, quarter, anchor=date(2023, 2, 15))
    assert anchored == Period(date(2024, 5, 15), date(2024, 8, 15))
    year = period_containing(date(2024, 3, 1), 31, BillingPeriodUnit.YEAR, anchor=date(2021, 1, 31))
    assert year == Period(date(2024, 1, 31), date(2025, 1, 31))
    two_months = period_containing(date(2024, 3, 5), 10, MONTH, interval=2)
    assert two_months == Period(date(2024, 1, 10), date(2024, 3, 10))


def test_weeks_start_on_the_iso_weekday_and_days_count_from_the_anchor() -> None:
    week = period_containing(date(2024, 3, 14), 1, BillingPeriodUnit.WEEK)  # a Thursday; weeks from Monday
    assert week == Period(date(2024, 3, 11), date(2024, 3, 18))
    fortnight = period_containing(date(2024, 3, 14), 5, BillingPeriodUnit.WEEK, 2, anchor=date(2024, 3, 1))
    assert fortnight == Period(date(2024, 3, 1), date(2024, 3, 15))
    days = period_containing(date(2024, 3, 14), 1, BillingPeriodUnit.DAY, 3, anchor=date(2024, 3, 10))
    assert days == Period(date(2024, 3, 13), date(2024, 3, 16))


@pytest.mark.parametrize(
    ("bill_day", "unit", "interval", "code"),
    [
        (0, MONTH, 1, "bill_day_invalid"),
        (32, MONTH, 1, "bill_day_invalid"),
        (8, BillingPeriodUnit.WEEK, 1, "bill_day_invalid"),
        (1, MONTH, 0, "interval_invalid"),
    ],
)
def test_bad_schedules_are_refused(bill_day: int, unit: BillingPeriodUnit, interval: int, code: str) -> None:
    with pytest.raises(PricingError) as error:
        period_containing(date(2024, 1, 1), bill_day, unit, interval)
    assert error.value.code == code


def test_new_york_periods_start_at_local_midnight_across_dst() -> None:
    tz = "America/New_York"
    march = period_containing(date(2024, 3, 5), 1, MONTH)  # DST starts 2024-03-10
    start, end = period_bounds_utc(march, tz)
    assert start == datetime(2024, 3, 1, 5, tzinfo=UTC)  # EST, UTC-5
    assert end == datetime(2024, 4, 1, 4, tzinfo=UTC)  # EDT, UTC-4
    assert end - start == timedelta(days=31) - timedelta(hours=1)
    november = next_period(period_containing(date(2024, 10, 5), 1, MONTH), 1, MONTH)
    assert period_bounds_utc(november, tz) == (
        datetime(2024, 11, 1, 4, tzinfo=UTC),
        datetime(2024, 12, 1, 5, tzinfo=UTC),
    )


def test_local_midnight_in_a_gap_is_the_first_instant_of_the_day() -> None:
    # Santiago skipped 2022-09-11 00:00 -> 01:00.
    first = local_midnight(date(2022, 9, 11), "America/Santiago")
    assert (first.hour, first.minute) == (1, 0)
    assert first.astimezone(UTC) == datetime(2022, 9, 11, 4, tzinfo=UTC)


def test_unknown_time_zone() -> None:
    with pytest.raises(PricingError) as error:
        local_midnight(date(2024, 1, 1), "Mars/Olympus_Mons")
    assert error.value.code == "timezone_unknown"


@given(DATES, st.integers(1, 31), st.sampled_from([MONTH, BillingPeriodUnit.QUARTER, BillingPeriodUnit.YEAR]))
def test_a_date_is_inside_exactly_the_period_returned(
    d: date, bill_day: int, unit: BillingPeriodUnit
) -> None:
    period = period_containing(d, bill_day, unit)
    assert period.start <= d < period.end
    assert period.start.day == min(bill_day, _last_day(period.start))
    assert period_containing(period.start, bill_day, unit) == period
    assert period_containing(period.end - timedelta(days=1), bill_day, unit) == period
    following = next_period(period, bill_day, unit)
    assert following.start == period.end
    assert period_containing(period.start - timedelta(days=1), bill_day, unit).end == period.start


def test_every_date_and_bill_day_of_a_leap_and_a_common_year() -> None:
    day = date(2023, 1, 1)
    while day < date(2025, 1, 1):
        for bill_day in range(1, 32):
            period = period_containing(day, bill_day, MONTH)
            assert period.start <= day < period.end, (day, bill_day)
            assert next_period(period, bill_day, MONTH).start == period.end
            assert 28 <= period.days <= 31
        day += timedelta(days=1)


@given(DATES, st.integers(1, 7), UNITS, st.integers(1, 4), DATES)
def test_every_unit_tiles_time(
    d: date, bill_day: int, unit: BillingPeriodUnit, interval: int, anchor: date
) -> None:
    period = period_containing(d, bill_day, unit, interval, anchor)
    assert d in period
    if unit is BillingPeriodUnit.DAY:
        assert period_containing(anchor, bill_day, unit, interval, anchor).start == anchor
    if unit is BillingPeriodUnit.WEEK:
        assert period.start.isoweekday() == bill_day
    assert next_period(period, bill_day, unit, interval, anchor).start == period.end


@given(st.integers(2000, 2040), st.integers(1, 12), st.integers(1, 31))
def test_new_york_periods_always_start_at_local_midnight(year: int, month: int, bill_day: int) -> None:
    period = period_containing(date(year, month, 1), bill_day, MONTH)
    start, end = period_bounds_utc(period, "America/New_York")
    for instant, day in ((start, period.start), (end, period.end)):
        local = local_midnight(day, "America/New_York")
        assert (local.date(), local.hour, local.minute) == (day, 0, 0)
        assert instant == local.astimezone(UTC)
    assert abs((end - start) - timedelta(days=period.days)) <= timedelta(hours=1)


def _last_day(d: date) -> int:
    following = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return (following - timedelta(days=1)).day
