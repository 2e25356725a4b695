"""Proration by days: the share of a period's price for the days a service was (or was not) used.

Day counting. Periods and service spans are half-open ``[start, end)`` in local dates: a span counts
the days from ``start`` up to, not including, ``end``. A date on which something happens (start, stop,
change, suspension, resumption) belongs to the *new* state: a plan changed on Jan 15 is served by the
old plan Jan 1-14 and by the new plan from Jan 15. This one convention gives both published answers:

- Kill Bill: period [2012-02-29, 2012-03-31) has 31 days; a start on 2012-03-02 is charged for
  [03-02, 03-31) = 29 days: 29/31 * 599.95 = 561.24.
- Lago ("both dates counted"): old plan Jan 1..Jan 14 inclusive = [Jan 1, Jan 15) = 14 days,
  14/31 * 100 = 45.16; new plan Jan 15..Jan 31 inclusive = [Jan 15, Feb 1) = 17 days,
  17/31 * 200 = 109.68. Lago's inclusive "to" date is our exclusive end minus one day.

Amounts are ``price * used_days / period_days`` rounded once by :func:`domain.money.round_minor`.
Credits are the negated charge for the same days, so a full-period credit cancels its charge exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from domain.currency import MINOR_UNITS
from domain.money import Money, PricingError, RoundingMode, round_minor
from domain.periods import Period

__all__ = [
    "BillingTiming",
    "ProratedCharge",
    "charge_active_days",
    "charge_arrears",
    "charge_from",
    "credit_from",
    "plan_change",
    "prorate",
    "prorate_span",
    "resume_charge",
    "suspend_credit",
]

HALF_UP = RoundingMode.HALF_UP


class BillingTiming(StrEnum):
    IN_ADVANCE = "in_advance"  # pre-bill: charge the period at its start, credit unused days
    IN_ARREARS = "in_arrears"  # post-bill: charge the days used when the period closes


@dataclass(frozen=True, slots=True)
class ProratedCharge:
    """A charge (or credit, when negative) for ``days`` of ``period``; ``start``/``end`` bound the span."""

    period: Period
    start: date
    end: date
    days: int
    amount: Money

    @property
    def period_days(self) -> int:
        return self.period.days

    @property
    def is_credit(self) -> bool:
        return self.amount.amount_minor < 0


def prorate(
    amount_minor: int, currency: str, used_days: int, period_days: int, mode: RoundingMode = HALF_UP
) -> int:
    """``amount_minor * used_days / period_days``, rounded once to the currency's minor unit."""
    if period_days <= 0:
        raise PricingError("period_invalid", f"a period must have at least one day, got {period_days}")
    if not 0 <= used_days <= period_days:
        raise PricingError("days_out_of_range", f"{used_days} days is outside a period of {period_days}")
    if used_days == period_days:
        return amount_minor
    places = MINOR_UNITS.get(currency, 0)
    share = (Decimal(amount_minor * used_days) / period_days).scaleb(-places)
    return round_minor(share, currency, mode)


def prorate_span(
    price: Money, period: Period, start: date, end: date, mode: RoundingMode = HALF_UP
) -> ProratedCharge:
    """The charge for the days ``[start, end)`` of ``period`` at ``price`` per full period."""
    if not period.start <= start <= end <= period.end:
        raise PricingError("span_outside_period", f"[{start}, {end}) is not inside {_show(period)}")
    days = (end - start).days
    amount = prorate(price.amount_minor, price.currency, days, period.days, mode)
    return ProratedCharge(period, start, end, days, Money(amount, price.currency))


def charge_from(price: Money, period: Period, start: date, mode: RoundingMode = HALF_UP) -> ProratedCharge:
    """In advance, service starting (or resuming, or a new plan) on ``start``: the remaining days."""
    _check_inside(period, start)
    return prorate_span(price, period, start, period.end, mode)


def credit_from(price: Money, period: Period, stop: date, mode: RoundingMode = HALF_UP) -> ProratedCharge:
    """In advance, service stopping on ``stop``: a credit (negative) for the unused days."""
    _check_inside(period, stop)
    return _negated(prorate_span(price, period, stop, period.end, mode))


def charge_arrears(
    price: Money,
    period: Period,
    start: date | None = None,
    end: date | None = None,
    mode: RoundingMode = HALF_UP,
) -> ProratedCharge:
    """In arrears, the days served ``[start, end)`` (default: the whole period), charged at close."""
    return prorate_span(price, period, start or period.start, end or period.end, mode)


def charge_active_days(
    price: Money, period: Period, spans: Iterable[tuple[date, date]], mode: RoundingMode = HALF_UP
) -> ProratedCharge:
    """In arrears, several active spans in one period (suspended in between), rounded once."""
    ordered = sorted(spans)
    if not ordered:
        return prorate_span(price, period, period.start, period.start, mode)
    days = 0
    previous_end = period.start
    for start, end in ordered:
        if start < previous_end or end < start or end > period.end:
            raise PricingError("span_invalid", f"spans must be ordered, disjoint and inside {_show(period)}")
        days += (end - start).days
        previous_end = end
    amount = prorate(price.amount_minor, price.currency, days, period.days, mode)
    return ProratedCharge(period, ordered[0][0], ordered[-1][1], days, Money(amount, price.currency))


def plan_change(
    old_price: Money,
    new_price: Money,
    period: Period,
    change: date,
    timing: BillingTiming = BillingTiming.IN_ADVANCE,
    mode: RoundingMode = HALF_UP,
) -> tuple[ProratedCharge, ProratedCharge]:
    """The two lines of an immediate plan change on ``change`` (which belongs to the new plan).

    In advance: a credit of the old plan's unused days and a charge of the new plan's remaining days.
    In arrears: the old plan's days before the change and the new plan's days from it.
    """
    _check_inside(period, change)
    if timing is BillingTiming.IN_ADVANCE:
        return credit_from(old_price, period, change, mode), charge_from(new_price, period, change, mode)
    old = prorate_span(old_price, period, period.start, change, mode)
    return old, prorate_span(new_price, period, change, period.end, mode)


def suspend_credit(
    price: Money, period: Period, suspended_on: date, mode: RoundingMode = HALF_UP
) -> ProratedCharge:
    """In advance, a suspension from ``suspended_on``: credit of the rest of the period."""
    return credit_from(price, period, suspended_on, mode)


def resume_charge(
    price: Money, period: Period, resumed_on: date, mode: RoundingMode = HALF_UP
) -> ProratedCharge:
    """In advance, a resumption on ``resumed_on``: charge of the rest of the period."""
    return charge_from(price, period, resumed_on, mode)


def _negated(charge: ProratedCharge) -> ProratedCharge:
    return ProratedCharge(charge.period, charge.start, charge.end, charge.days, -charge.amount)


def _check_inside(period: Period, day: date) -> None:
    if day not in period:
        raise PricingError("date_outside_period", f"{day} is not inside {_show(period)}")


def _show(period: Period) -> str:
    return f"period [{period.start}, {period.end})"
