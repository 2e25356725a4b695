"""What a bill run owes for a subscription up to a date, service by service (pure).

Every service (one plan on one line, from its effective date) is billed on its own plan's period
grid, anchored on the subscription's start, whatever the other services of its line use: a plan
change between a monthly and a yearly plan leaves the old service on its months and the new one on
its years, and no service ever takes another's grid (so the result never depends on row order).

In advance: each period of a service is billed once, in full from the service's first day, if the
service was live on a day of it: a service that ends on a period's first day (a termination or a
change at a period's end) is not billed for that period. A period already charged by a change — the
rest of the first period of an add-on or of a plan taking over a line, or of a resumed service — is
in the ``billed`` set and is not billed again; a service that replaces another also skips its first
period when no charge was recorded for it (changes made before charges were counted as billed). A
stop credits the unused days of its period only when that period is billed (:func:`credit_owed`), so
a credit never reverses a period no run bills, whether the change came before or after the run. In
arrears: each elapsed period is billed for the days the service was active, rounded per span.
Periods paused by a suspension are marked billed with no charge. The ``billed`` set (the
``billed_periods`` table, one row per service and period, and the periods charged by changes) makes
every period of a service billed once, also when its line's grid changed: a period overlapping one
already billed for the service is never billed again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol

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
    replaced_by: str | None = None  # the service that took over the line (a plan change)
    bundle_code: str | None = None  # the bundle it was sold in, if any (its discount: the bundle's)


@dataclass(frozen=True)
class BilledSpan:
    """A period billed for a service (``service_id`` None: billed before services were recorded)."""

    line_id: str
    service_id: str | None
    start: date
    end: date

    def covers_service(self, service_id: str, line_id: str, period: Period) -> bool:
        mine = self.service_id == service_id or (self.service_id is None and self.line_id == line_id)
        return mine and self.start < period.end and period.start < self.end


@dataclass(frozen=True)
class SubscriptionToBill:
    subscription_id: str
    currency: str
    bill_day: int
    start_date: date
    end_date: date | None
    services: list[ServiceSpan]
    billed: frozenset[BilledSpan] = frozenset()
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
    periods: list[tuple[ServiceSpan, Period]] = field(default_factory=list)  # (service, period) now billed


def _periods(sub: SubscriptionToBill, plan: PlanSpec, first: date, ctx: QuoteContext) -> Iterator[Period]:
    """The plan's periods from the one holding ``first``, on the grid anchored on the subscription's start."""
    bill_day = bill_day_for(plan, sub.start_date, QuoteContext(ctx.currency, bill_day=sub.bill_day))
    unit, interval, anchor = plan.billing_period, plan.billing_interval, sub.start_date
    period = period_containing(first, bill_day, unit, interval, anchor)
    while True:
        yield period
        period = period_containing(period.end, bill_day, unit, interval, anchor)


@dataclass(frozen=True)
class _Walk:
    """Where a service's walk over its periods starts, and the billed spans that can still matter.

    Every period that starts inside the unbroken run of billed days from the service's first period is
    billed (it overlaps a billed span), so the walk starts at the period holding the run's end instead
    of the first: a subscription billed for years costs a run what a new one does. A gap in that run (a
    period a failed run never billed) ends it, so the gap is still billed."""

    first: date
    skipped: bool  # the first period of the service is behind ``first``
    spans: tuple[BilledSpan, ...]  # the service's billed spans ending after ``first``'s period starts


class Dated(Protocol):
    """Anything billed for ``[start, end)``."""

    @property
    def start(self) -> date: ...

    @property
    def end(self) -> date: ...


def covered_until(spans: Iterable[Dated], since: date) -> date:
    """The end of the unbroken run of billed days from ``since`` (``since`` itself if that day is not
    billed): the spans, in any order, may overlap, touch, or leave gaps (a gap ends the run)."""
    until = since
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if span.start > until:
            break
        until = max(until, span.end)
    return until


def _walk(sub: SubscriptionToBill, span: ServiceSpan, ctx: QuoteContext) -> _Walk:
    """The service's walk. The spans are sorted and scanned here even when the loader read them already
    merged into runs (``models.bulk.consecutive_runs``): the domain takes any billed spans (change
    quotes and tests pass one per period), and a service has a handful of runs."""
    own = [
        b
        for b in sub.billed
        if b.service_id == span.service_id or (b.service_id is None and b.line_id == span.line_id)
    ]
    if not own:
        return _Walk(span.started_on, False, ())
    start = next(_periods(sub, span.plan, span.started_on, ctx)).start
    until = covered_until(own, start)
    if until == start:
        return _Walk(span.started_on, False, tuple(own))
    first = next(_periods(sub, span.plan, until, ctx)).start
    return _Walk(max(until, span.started_on), True, tuple(b for b in own if b.end > first))


def _overlaps(spans: tuple[BilledSpan, ...], period: Period) -> bool:
    return any(b.start < period.end and period.start < b.end for b in spans)


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


def credit_owed(started_on: date, period: Period, stop_on: date, charged: bool) -> bool:
    """May stopping (or pausing) a service paid in advance on ``stop_on`` credit the unused days of
    ``period``, the period holding ``stop_on``? Only when that period is billed: ``charged`` already
    (billed by a run, or charged by the change that started or resumed the service), or used for a day
    before the stop, which a run bills in full (see :func:`_advance`)."""
    return charged or max(started_on, period.start) < stop_on


def _advance(
    sub: SubscriptionToBill,
    span: ServiceSpan,
    replaces: bool,
    up_to: date,
    ctx: QuoteContext,
    rounding: RoundingMode,
    work: DueWork,
) -> None:
    ends = [day for day in (span.ended_on, sub.end_date) if day is not None]
    walk = _walk(sub, span, ctx)
    for index, period in enumerate(_periods(sub, span.plan, walk.first, ctx)):
        a = max(span.started_on, period.start)
        if period.start > up_to or any(a >= end for end in ends):
            return  # not due yet, or the service was not live on a day of the period
        if (index == 0 and replaces and not walk.skipped) or _overlaps(walk.spans, period):
            continue  # billed, or charged by the change that started this service
        work.periods.append((span, period))
        if not _is_paused(sub, a):
            work.lines.append(_line(sub, span, period, a, period.end, ctx, rounding))


def _arrears(
    sub: SubscriptionToBill,
    span: ServiceSpan,
    up_to: date,
    ctx: QuoteContext,
    rounding: RoundingMode,
    work: DueWork,
) -> None:
    walk = _walk(sub, span, ctx)
    for period in _periods(sub, span.plan, walk.first, ctx):
        if period.end > up_to or (sub.end_date is not None and period.start >= sub.end_date):
            return
        if span.ended_on is not None and period.start >= span.ended_on:
            return
        if _overlaps(walk.spans, period):
            continue
        work.periods.append((span, period))
        a = max(span.started_on, period.start)
        b = min(span.ended_on or period.end, period.end, sub.end_date or period.end)
        if a < b:
            work.lines.append(_line(sub, span, period, a, b, ctx, rounding))


def due(
    sub: SubscriptionToBill, up_to: date, ctx: QuoteContext, rounding: RoundingMode = RoundingMode.HALF_UP
) -> DueWork:
    """Every unbilled period of every service due by ``up_to`` (local date), in period order."""
    work = DueWork()
    replacements = {span.replaced_by for span in sub.services if span.replaced_by}
    for span in sorted(sub.services, key=lambda s: (s.line_id, s.started_on, s.service_id)):
        plan = span.plan
        if plan.access_hours or not plan.phases:
            continue
        if plan.billing_term is BillingTerm.IN_ARREARS:
            _arrears(sub, span, up_to, ctx, rounding, work)
        else:
            _advance(sub, span, span.service_id in replacements, up_to, ctx, rounding, work)
    work.lines.sort(key=lambda ln: (ln.start or date.min, ln.service_id or ""))
    work.periods.sort(key=lambda item: (item[1].start, item[0].service_id))
    return work
