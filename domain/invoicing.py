"""What a bill run owes for a subscription up to a date, line by line (pure).

In advance: each service line's period is billed once, from its first day to the period's end at
the price of the service in force that day; a change inside a billed period is settled by the
pending credit and charge its process recorded. In arrears: each elapsed period is billed for the
days each service was active, rounded per span. Periods paused by a suspension are marked billed
with no charge. The ``billed`` set (the ``billed_periods`` table) makes every period billed once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from domain.catalog import BillingTerm, PlanSpec
from domain.money import Money, RoundingMode, round_minor
from domain.periods import Period, period_containing
from domain.proration import prorate_span
from domain.quote import QuoteContext, bill_day_for, phase_spans

LAST_DAY_CYCLE = 31


def cycle_of(bill_day: int) -> int:
    """Bill cycles run on days 1-28 or on the last day of the month (31)."""
    return bill_day if bill_day <= 28 else LAST_DAY_CYCLE


@dataclass(frozen=True)
class ServiceSpan:
    service_id: str
    line_id: str
    plan: PlanSpec
    revenue_kind: str
    started_on: date
    ended_on: date | None
    quantity: int


@dataclass(frozen=True)
class SubscriptionToBill:
    subscription_id: str
    currency: str
    bill_day: int
    start_date: date
    end_date: date | None
    services: list[ServiceSpan]
    billed: frozenset[tuple[str, date]] = frozenset()
    paused: list[tuple[date, date | None]] = field(default_factory=list)


@dataclass(frozen=True)
class DraftLine:
    subscription_id: str
    service_id: str | None
    kind: str
    description: str
    period: Period | None
    start: date | None
    end: date | None
    quantity: Decimal
    unit_price: Decimal
    amount: Money
    tax_category: str
    revenue_kind: str
    charge_id: str | None = None  # the pending charge this line bills, if any


@dataclass
class DueWork:
    lines: list[DraftLine] = field(default_factory=list)
    periods: list[tuple[str, Period]] = field(default_factory=list)  # (line id, period) now billed


def _terms(sub: SubscriptionToBill, plan: PlanSpec, ctx: QuoteContext) -> tuple[int, date]:
    return bill_day_for(
        plan, sub.start_date, QuoteContext(ctx.currency, bill_day=sub.bill_day)
    ), sub.start_date


def _periods(sub: SubscriptionToBill, plan: PlanSpec, first: date, ctx: QuoteContext) -> Iterator[Period]:
    bill_day, anchor = _terms(sub, plan, ctx)
    period = period_containing(first, bill_day, plan.billing_period, plan.billing_interval, anchor)
    while True:
        yield period
        period = period_containing(period.end, bill_day, plan.billing_period, plan.billing_interval, anchor)


def _price(span: ServiceSpan, day: date, ctx: QuoteContext) -> Decimal:
    price = Decimal(0)
    for start, until, phase_price, _ in phase_spans(span.plan, span.started_on, ctx):
        if start <= day and (until is None or day < until):
            price = phase_price
    return price


def _line(
    sub: SubscriptionToBill,
    span: ServiceSpan,
    period: Period,
    a: date,
    b: date,
    ctx: QuoteContext,
    rounding: RoundingMode,
) -> DraftLine:
    price = _price(span, a, ctx)
    full = Money(round_minor(price * span.quantity, ctx.currency, rounding), ctx.currency)
    amount = prorate_span(full, period, a, b, rounding).amount
    return DraftLine(
        sub.subscription_id,
        span.service_id,
        "recurring",
        f"{span.plan.name} {a} to {b}",
        period,
        a,
        b,
        Decimal(span.quantity),
        price,
        amount,
        span.plan.tax_category,
        span.revenue_kind,
    )


def _is_paused(sub: SubscriptionToBill, day: date) -> bool:
    return any(start <= day and (until is None or day < until) for start, until in sub.paused)


def _advance(
    sub: SubscriptionToBill,
    rows: list[ServiceSpan],
    up_to: date,
    ctx: QuoteContext,
    rounding: RoundingMode,
    work: DueWork,
) -> None:
    first = min(r.started_on for r in rows)
    for period in _periods(sub, rows[0].plan, first, ctx):
        if period.start > up_to or (sub.end_date is not None and period.start >= sub.end_date):
            return
        line_id = rows[0].line_id
        live = [
            r for r in rows if r.started_on < period.end and (r.ended_on is None or r.ended_on > period.start)
        ]
        if (line_id, period.start) in sub.billed or not live:
            continue
        row = min(live, key=lambda r: max(r.started_on, period.start))
        a = max(row.started_on, period.start)
        work.periods.append((line_id, period))
        if not _is_paused(sub, a):
            work.lines.append(_line(sub, row, period, a, period.end, ctx, rounding))


def _arrears(
    sub: SubscriptionToBill,
    rows: list[ServiceSpan],
    up_to: date,
    ctx: QuoteContext,
    rounding: RoundingMode,
    work: DueWork,
) -> None:
    first = min(r.started_on for r in rows)
    for period in _periods(sub, rows[0].plan, first, ctx):
        if period.end > up_to or (sub.end_date is not None and period.start >= sub.end_date):
            return
        line_id = rows[0].line_id
        if (line_id, period.start) in sub.billed:
            continue
        work.periods.append((line_id, period))
        for row in sorted(rows, key=lambda r: r.started_on):
            a = max(row.started_on, period.start)
            b = min(row.ended_on or period.end, period.end, sub.end_date or period.end)
            if a < b:
                work.lines.append(_line(sub, row, period, a, b, ctx, rounding))


def due(
    sub: SubscriptionToBill, up_to: date, ctx: QuoteContext, rounding: RoundingMode = RoundingMode.HALF_UP
) -> DueWork:
    """Every unbilled period of every service line due by ``up_to`` (local date), in period order."""
    work = DueWork()
    lines: dict[str, list[ServiceSpan]] = {}
    for span in sub.services:
        lines.setdefault(span.line_id, []).append(span)
    for rows in lines.values():
        plan = rows[0].plan
        if plan.access_hours or not plan.phases:
            continue
        if plan.billing_term is BillingTerm.IN_ARREARS:
            _arrears(sub, rows, up_to, ctx, rounding, work)
        else:
            _advance(sub, rows, up_to, ctx, rounding, work)
    work.lines.sort(key=lambda ln: (ln.start or date.min, ln.service_id or ""))
    return work
