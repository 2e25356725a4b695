"""Billing periods anchored on a bill day, as local dates in the account's time zone.

A period is ``[start, end)``: it contains ``start`` and stops before ``end`` (the next period's start).
Monthly-based units (month, quarter, year) start on the bill day (1-31), clamped to the last day of
short months; the period after a clamped one returns to the bill day (BCD 31: Feb 29 → Mar 31 →
Apr 30 → May 31). Weekly periods start on the ISO weekday ``bill_day`` (1 = Monday … 7 = Sunday);
daily periods ignore the bill day. ``anchor`` (any date on which one of the periods starts, e.g. the
first billing date) fixes the phase of multi-unit periods: which months start a quarter, which week
starts a fortnight. Without it quarters and years follow the calendar (January) and multi-day /
multi-week periods count from 1970-01-01 / the week of 1970-01-05.

Periods start at local midnight, so a daylight-saving change never moves one: :func:`local_midnight`
and :func:`period_bounds_utc` turn local dates into instants only at the edge.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.money import PricingError

__all__ = [
    "BillingPeriodUnit",
    "Period",
    "days_in",
    "local_midnight",
    "next_period",
    "period_bounds_utc",
    "period_containing",
    "zone",
]


class BillingPeriodUnit(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


_MONTHS_PER_UNIT: dict[BillingPeriodUnit, int] = {
    BillingPeriodUnit.MONTH: 1,
    BillingPeriodUnit.QUARTER: 3,
    BillingPeriodUnit.YEAR: 12,
}
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_DAY_EPOCH = date(1970, 1, 1)
_WEEK_EPOCH = date(1970, 1, 5)  # a Monday


@dataclass(frozen=True, slots=True)
class Period:
    """Local dates ``[start, end)``."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise PricingError("period_invalid", f"period end {self.end} is not after start {self.start}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end


def days_in(period: Period) -> int:
    """Number of days in the period (``end`` excluded)."""
    return (period.end - period.start).days


def period_containing(
    d: date,
    bill_day: int,
    unit: BillingPeriodUnit,
    interval: int = 1,
    anchor: date | None = None,
) -> Period:
    """The billing period that contains the local date ``d``."""
    if interval < 1:
        raise PricingError("interval_invalid", f"billing interval must be at least 1, got {interval}")
    months = _MONTHS_PER_UNIT.get(unit)
    if months is not None:
        _check_bill_day(bill_day, 31)
        return _monthly_period(d, bill_day, months * interval, anchor)
    if unit is BillingPeriodUnit.WEEK:
        _check_bill_day(bill_day, 7)
        start = _latest_weekday(anchor or _WEEK_EPOCH, bill_day)
        return _fixed_period(d, start, 7 * interval)
    return _fixed_period(d, anchor or _DAY_EPOCH, interval)


def next_period(
    period: Period,
    bill_day: int,
    unit: BillingPeriodUnit,
    interval: int = 1,
    anchor: date | None = None,
) -> Period:
    """The period that follows ``period`` (it starts on ``period.end``)."""
    return period_containing(period.end, bill_day, unit, interval, anchor)


def zone(tz: str | ZoneInfo) -> ZoneInfo:
    """The IANA time zone ``tz``; an unknown name is a ``timezone_unknown`` error."""
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise PricingError("timezone_unknown", f"{tz!r} is not an IANA time zone") from None


def local_midnight(d: date, tz: str | ZoneInfo) -> datetime:
    """The first instant of local date ``d`` in ``tz`` (aware).

    Where midnight does not exist (a DST gap at 00:00) this is the first instant that does.
    """
    info = zone(tz)
    wall_midnight = datetime(d.year, d.month, d.day, tzinfo=info)
    return wall_midnight.astimezone(UTC).astimezone(info)


def period_bounds_utc(period: Period, tz: str | ZoneInfo) -> tuple[datetime, datetime]:
    """The period as UTC instants ``[start, end)``: local midnight of its first and next-start days."""
    return local_midnight(period.start, tz).astimezone(UTC), local_midnight(period.end, tz).astimezone(UTC)


def _check_bill_day(bill_day: int, highest: int) -> None:
    if not 1 <= bill_day <= highest:
        raise PricingError("bill_day_invalid", f"bill day must be between 1 and {highest}, got {bill_day}")


def _month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def _bill_date(month_index: int, bill_day: int) -> date:
    """The bill day in the given month, clamped to the month's last day."""
    year, month0 = divmod(month_index, 12)
    if bill_day > 28:
        last_day = 29 if month0 == 1 and calendar.isleap(year) else _DAYS_IN_MONTH[month0]
        bill_day = min(bill_day, last_day)
    return date(year, month0 + 1, bill_day)


def _monthly_period(d: date, bill_day: int, length: int, anchor: date | None) -> Period:
    phase = _month_index(anchor) % length if anchor is not None else 0
    index = _month_index(d)
    index -= (index - phase) % length
    start = _bill_date(index, bill_day)
    if start > d:
        index -= length
        start = _bill_date(index, bill_day)
    return Period(start, _bill_date(index + length, bill_day))


def _latest_weekday(on_or_before: date, iso_weekday: int) -> date:
    return on_or_before - timedelta(days=(on_or_before.isoweekday() - iso_weekday) % 7)


def _fixed_period(d: date, origin: date, length_days: int) -> Period:
    offset = (d - origin).days % length_days
    start = d - timedelta(days=offset)
    return Period(start, start + timedelta(days=length_days))
