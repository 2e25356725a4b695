"""Quotes: every charge line of a set of plans over given dates, priced exactly, taxed once per rate.

Pure and deterministic. The API's ``POST /v1/quotes`` and (later) the bill run and plan changes use it,
so a preview and the bill always agree. Days are counted ``[start, end)`` in the account's local dates.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from domain.catalog import BillingTerm, Duration, PhaseKind, PlanSpec, UsageCharge
from domain.currency import minor_units
from domain.memo import IdentityMemo
from domain.money import Money, PricingError, RoundingMode, round_minor
from domain.periods import BillingPeriodUnit, Period, period_containing
from domain.proration import prorate_span
from domain.rating import RateGroup, Tariff, rate_call
from domain.tax import TaxableLine, TaxRate, TaxResult, TaxStatus, compute_tax
from domain.usage_pricing import (
    GraduatedTiers,
    IncludedAllowance,
    MinimumCharge,
    Package,
    PerUnit,
    PriceModel,
    Tier,
    VolumeTiers,
)

NO_TAX = TaxRate("none", Decimal(0))
MAX_PERIODS = 36

_period_at = lru_cache(maxsize=8192)(period_containing)
"""``period_containing`` remembered: a quote asks for the same periods up to four times (its horizon,
the recurring lines, the rental, the usage period), and quotes of one day share their periods. Pure, and
its answers (frozen ``Period``) are immutable; an invalid bill day still raises every time."""


@dataclass(frozen=True)
class QuoteContext:
    currency: str
    country: str | None = None
    bill_day: int | None = None
    tax_status: TaxStatus = TaxStatus.TAXABLE
    tax_rates: dict[str, TaxRate] = field(default_factory=dict)
    tax_inclusive: bool = False
    rounding: RoundingMode = RoundingMode.HALF_UP
    price_overrides: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class QuoteItem:
    plan: PlanSpec
    start: date
    quantity: int = 1
    periods: int = 1
    change_to: PlanSpec | None = None
    change_on: date | None = None
    stop: date | None = None
    usage: dict[str, Decimal] = field(default_factory=dict)
    calls: dict[str, list[int]] = field(default_factory=dict)
    bundle_code: str | None = None
    bundle_discount: Decimal = Decimal(0)


@dataclass(slots=True)
class QuoteLine:
    kind: str  # recurring | credit | usage | one_off | device_rental | device_sale | on_demand | discount
    plan_code: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Money
    tax_category: str
    service_start: date | None = None
    service_end: date | None = None
    period: Period | None = None


@dataclass(frozen=True)
class Quote:
    lines: tuple[QuoteLine, ...]
    tax: TaxResult
    rates: dict[str, TaxRate]


def add_duration(start: date, duration: Duration) -> date:
    if duration.unit == "day":
        return start + timedelta(days=duration.count)
    if duration.unit == "week":
        return start + timedelta(weeks=duration.count)
    months = duration.count * (12 if duration.unit == "year" else 1)
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(start.day, calendar.monthrange(year, month + 1)[1]))


def bill_day_for(plan: PlanSpec, start: date, ctx: QuoteContext) -> int:
    if plan.billing_period is BillingPeriodUnit.WEEK:
        return ctx.bill_day if ctx.bill_day and ctx.bill_day <= 7 else start.isoweekday()
    return ctx.bill_day or start.day


def _periods(plan: PlanSpec, start: date, ctx: QuoteContext, align: date | None = None) -> Iterator[Period]:
    """Billing periods from the one holding ``start``, aligned on the subscription's first day ``align``."""
    origin = align or start
    bill_day = bill_day_for(plan, origin, ctx)
    unit, interval = plan.billing_period, plan.billing_interval
    period = _period_at(start, bill_day, unit, interval, origin)
    while True:
        yield period
        period = _period_at(period.end, bill_day, unit, interval, origin)


def phase_spans(
    plan: PlanSpec, start: date, ctx: QuoteContext
) -> list[tuple[date, date | None, Decimal, str]]:
    """(from, until, price per period, phase kind) for each phase, from the plan's start."""
    spans = []
    cursor = start
    for phase in plan.phases:
        until = add_duration(cursor, phase.duration) if phase.duration else None
        price = phase.prices.get(ctx.currency)
        if price is None:
            if phase.kind is not PhaseKind.TRIAL:
                raise PricingError("currency_not_priced", f"plan {plan.code} is not priced in {ctx.currency}")
            price = Decimal(0)
        override = ctx.price_overrides.get(plan.code)
        if override is not None and phase.kind in (PhaseKind.EVERGREEN, PhaseKind.FIXED_TERM):
            price = override
        spans.append((cursor, until, price, phase.kind.value))
        if until is None:
            break
        cursor = until
    return spans


def _split(
    a: date, b: date, spans: list[tuple[date, date | None, Decimal, str]]
) -> Iterator[tuple[date, date, Decimal, str]]:
    for s_from, s_until, price, kind in spans:
        lo, hi = max(a, s_from), min(b, s_until or b)
        if lo < hi:
            yield lo, hi, price, kind


def _recurring_line(
    plan: PlanSpec,
    period: Period,
    a: date,
    b: date,
    price: Decimal,
    qty: int,
    ctx: QuoteContext,
    kind: str,
    label: str,
    *,
    credit: bool = False,
) -> QuoteLine:
    full = Money(round_minor(price * qty, ctx.currency, ctx.rounding), ctx.currency)
    charge = prorate_span(full, period, a, b, ctx.rounding)
    amount = -charge.amount if credit else charge.amount
    what = "credit for unused days of" if credit else label
    return QuoteLine(
        kind,
        plan.code,
        f"{what} {plan.name} ({kind})",
        Decimal(qty),
        price,
        amount,
        plan.tax_category,
        a,
        b,
        period,
    )


def recurring_lines(
    plan: PlanSpec,
    qty: int,
    active_from: date,
    active_until: date | None,
    horizon: date,
    ctx: QuoteContext,
    align: date | None = None,
) -> list[QuoteLine]:
    """A plan's recurring charges from ``active_from`` until ``active_until`` (exclusive) or ``horizon``."""
    spans = phase_spans(plan, active_from, ctx)
    arrears = plan.billing_term is BillingTerm.IN_ARREARS
    lines: list[QuoteLine] = []
    for period in _periods(plan, active_from, ctx, align):
        if period.start >= horizon or (active_until is not None and period.start >= active_until):
            break
        a = max(period.start, active_from)
        stop_here = active_until is not None and active_until < period.end
        b = active_until if (arrears and stop_here and active_until) else period.end
        for lo, hi, price, kind in _split(a, b, spans):
            lines.append(_recurring_line(plan, period, lo, hi, price, qty, ctx, "recurring", kind))
        if stop_here and not arrears and active_until is not None:
            for lo, hi, price, kind in _split(active_until, period.end, spans):
                lines.append(
                    _recurring_line(plan, period, lo, hi, price, qty, ctx, "credit", kind, credit=True)
                )
        if stop_here or period.end >= horizon:
            break
    return lines


# Catalogue definitions are frozen and parsed once per version: the same object gives the same answer.
_MODELS: IdentityMemo[PriceModel] = IdentityMemo(10_000)


def usage_model(charge: UsageCharge, currency: str) -> PriceModel:
    """The price model of a usage charge in a currency (built once per definition object)."""
    return _MODELS.remember(charge, currency, lambda: _build_usage_model(charge, currency))


def _build_usage_model(charge: UsageCharge, currency: str) -> PriceModel:
    price = charge.prices.get(currency)
    if price is None:
        raise PricingError("currency_not_priced", f"usage {charge.metric} is not priced in {currency}")
    model: PriceModel
    if charge.model == "per_unit":
        model = PerUnit(price.unit_price or Decimal(0))
    else:
        tiers, start = [], Decimal(0)
        for tier in price.tiers or []:
            tiers.append(Tier(start, tier.up_to, tier.unit_price, tier.flat_fee))
            start = tier.up_to if tier.up_to is not None else start
        model = GraduatedTiers(tuple(tiers)) if charge.model == "graduated" else VolumeTiers(tuple(tiers))
    if charge.block_size:
        model = Package(charge.block_size, model)
    if charge.included:
        model = IncludedAllowance(charge.included, model)
    if price.minimum is not None:
        model = MinimumCharge(price.minimum, model)
    return model


def call_tariff(charge: UsageCharge, currency: str) -> Tariff:
    price = charge.prices.get(currency)
    if price is None or price.call is None:
        raise PricingError("currency_not_priced", f"calls of {charge.metric} are not priced in {currency}")
    spec = price.call
    groups = tuple(RateGroup(g.start, g.rate, g.rate_unit, g.increment) for g in spec.groups)
    return Tariff(spec.connect_fee, groups, spec.precision, RoundingMode(spec.rounding))


def call_lines(
    plan: PlanSpec, calls: dict[str, list[int]], period: Period, ctx: QuoteContext
) -> list[QuoteLine]:
    """Each call rated on its own (rounded once at the tariff's precision); the sum rounded once."""
    by_metric = {u.metric: u for u in plan.usage if u.model == "call"}
    lines = []
    for metric, durations in calls.items():
        charge = by_metric.get(metric)
        if charge is None:
            raise PricingError("usage_metric_unknown", f"plan {plan.code} does not rate calls of {metric}")
        tariff = call_tariff(charge, ctx.currency)
        costs = [rate_call(tariff, seconds) for seconds in durations]
        total = sum(costs, Decimal(0))
        amount = Money(round_minor(total, ctx.currency, ctx.rounding), ctx.currency)
        unit = costs[0] if len(costs) == 1 else (total / len(costs) if costs else Decimal(0))
        description = f"{metric}: {len(costs)} calls, {sum(durations)} s"
        lines.append(
            QuoteLine(
                "usage",
                plan.code,
                description,
                Decimal(len(costs)),
                unit,
                amount,
                plan.tax_category,
                period.start,
                period.end,
                period,
            )
        )
    return lines


def usage_lines(
    plan: PlanSpec, usage: dict[str, Decimal], period: Period, ctx: QuoteContext
) -> list[QuoteLine]:
    by_metric = {u.metric: u for u in plan.usage if u.model != "call"}
    unknown = [metric for metric in usage if metric not in by_metric]
    if unknown:
        raise PricingError(
            "usage_metric_unknown", f"plan {plan.code} does not price {', '.join(sorted(unknown))}"
        )
    lines = []
    for metric, charge in by_metric.items():
        quantity = usage.get(metric, Decimal(0))
        if quantity < 0:
            raise PricingError("quantity_negative", f"usage {metric} must not be negative")
        exact = usage_model(charge, ctx.currency).amount(quantity)
        amount = Money(round_minor(exact, ctx.currency, ctx.rounding), ctx.currency)
        unit = (exact / quantity) if quantity else Decimal(0)
        lines.append(
            QuoteLine(
                "usage",
                plan.code,
                f"{charge.metric} ({quantity} {charge.unit})",
                quantity,
                unit,
                amount,
                plan.tax_category,
                period.start,
                period.end,
                period,
            )
        )
    return lines


def _once(
    plan: PlanSpec, kind: str, description: str, price: Decimal, qty: int, on: date, ctx: QuoteContext
) -> QuoteLine:
    amount = Money(round_minor(price * qty, ctx.currency, ctx.rounding), ctx.currency)
    return QuoteLine(kind, plan.code, description, Decimal(qty), price, amount, plan.tax_category, on, on)


def activation_lines(plan: PlanSpec, item: QuoteItem, on: date, ctx: QuoteContext) -> list[QuoteLine]:
    lines = [
        _once(plan, "one_off", fee.name, _priced(fee.prices, ctx, plan), item.quantity, on, ctx)
        for fee in plan.one_off_fees
    ]
    if plan.device and plan.device.mode == "sell":
        price = _priced(plan.device.prices, ctx, plan)
        lines.append(
            _once(plan, "device_sale", f"device {plan.device.product_code}", price, item.quantity, on, ctx)
        )
    if plan.access_hours and plan.on_demand_prices is not None:
        price = _priced(plan.on_demand_prices, ctx, plan)
        line = _once(
            plan, "on_demand", f"{plan.name}, {plan.access_hours} h access", price, item.quantity, on, ctx
        )
        end = on + timedelta(days=-(-plan.access_hours // 24))
        lines.append(replace(line, service_end=end))
    return lines


def _priced(prices: dict[str, Decimal], ctx: QuoteContext, plan: PlanSpec) -> Decimal:
    if ctx.currency not in prices:
        raise PricingError("currency_not_priced", f"plan {plan.code} is not priced in {ctx.currency}")
    return prices[ctx.currency]


def device_rental_lines(
    plan: PlanSpec,
    item: QuoteItem,
    until: date | None,
    horizon: date,
    ctx: QuoteContext,
    align: date | None = None,
) -> list[QuoteLine]:
    """The plan's device rental from ``item.start`` until ``until`` (exclusive) or ``horizon``, on the
    plan's grid aligned on the subscription's first day ``align``, prorated like the recurring charge."""
    if not plan.device or plan.device.mode != "rent":
        return []
    price = _priced(plan.device.prices, ctx, plan)
    rental = plan.model_copy(update={"phases": [], "name": f"rental of {plan.device.product_code}"})
    spans: list[tuple[date, date | None, Decimal, str]] = [(item.start, None, price, "rental")]
    lines = []
    for period in _periods(plan, item.start, ctx, align):
        if period.start >= horizon or (until is not None and period.start >= until):
            break
        end = until if until and until < period.end else period.end
        for lo, hi, p, _ in _split(max(period.start, item.start), end, spans):
            lines.append(
                _recurring_line(rental, period, lo, hi, p, item.quantity, ctx, "device_rental", "rental")
            )
    return lines


def _horizon(item: QuoteItem, ctx: QuoteContext) -> date:
    if not 1 <= item.periods <= MAX_PERIODS:
        raise PricingError("periods_out_of_range", f"a quote covers 1 to {MAX_PERIODS} periods")
    periods = _periods(item.plan, item.start, ctx)
    horizon = item.start
    for _ in range(item.periods):
        horizon = next(periods).end
    for day in (item.change_on, item.stop):
        if day is not None and day >= horizon:
            horizon = _period_at(
                day,
                bill_day_for(item.plan, item.start, ctx),
                item.plan.billing_period,
                item.plan.billing_interval,
                item.start,
            ).end
    return horizon


_PRICED_IN: IdentityMemo[bool] = IdentityMemo(10_000)


def _priced_in(plan: PlanSpec, currency: str) -> bool:
    """``plan.priced_in(currency)``, remembered per plan object (a frozen, parsed catalogue version)."""
    return _PRICED_IN.remember(plan, currency, lambda: plan.priced_in(currency))


def _check_dates(item: QuoteItem) -> None:
    if item.quantity < 1:
        raise PricingError("quantity_invalid", "quantity must be at least 1")
    if (item.change_to is None) != (item.change_on is None):
        raise PricingError("change_incomplete", "a plan change needs both change_to and change_on")
    for name, day in (("change_on", item.change_on), ("stop", item.stop)):
        if day is not None and day <= item.start:
            raise PricingError("date_before_start", f"{name} {day} is not after the start {item.start}")
    if item.change_on and item.stop and item.stop <= item.change_on:
        raise PricingError("date_order", "stop must come after the plan change")


def item_lines(item: QuoteItem, ctx: QuoteContext) -> list[QuoteLine]:
    _check_dates(item)
    if item.plan.access_hours:
        return activation_lines(item.plan, item, item.start, ctx)
    if not _priced_in(item.plan, ctx.currency):
        raise PricingError("currency_not_priced", f"plan {item.plan.code} is not priced in {ctx.currency}")
    horizon = _horizon(item, ctx)
    old_until = item.change_on or item.stop
    lines = activation_lines(item.plan, item, item.start, ctx)
    lines += recurring_lines(item.plan, item.quantity, item.start, old_until, horizon, ctx)
    lines += device_rental_lines(item.plan, item, old_until, horizon, ctx)  # the old rental ends with it
    usage_plan, usage_from = item.plan, item.start
    if item.change_to is not None and item.change_on is not None:
        new = item.change_to
        if not _priced_in(new, ctx.currency):
            raise PricingError("currency_not_priced", f"plan {new.code} is not priced in {ctx.currency}")
        lines += recurring_lines(
            new, item.quantity, item.change_on, item.stop, horizon, ctx, align=item.start
        )
        renting = replace(item, plan=new, start=item.change_on)  # as a bill: the new plan's rental
        lines += device_rental_lines(new, renting, item.stop, horizon, ctx, align=item.start)
        usage_plan, usage_from = new, item.change_on
    if item.usage or item.calls or usage_plan.usage:
        first = next(_periods(usage_plan, usage_from, ctx, align=item.start))
        lines += usage_lines(usage_plan, item.usage, first, ctx)
        lines += call_lines(usage_plan, item.calls, first, ctx)
    return lines + bundle_discount_lines(item, lines, ctx)


def bundle_discount_lines(item: QuoteItem, lines: list[QuoteLine], ctx: QuoteContext) -> list[QuoteLine]:
    if not item.bundle_discount:
        return []
    by_category: dict[str, int] = {}
    for line in lines:
        if line.kind in ("recurring", "credit"):
            by_category[line.tax_category] = by_category.get(line.tax_category, 0) + line.amount.amount_minor
    out = []
    for category, total in sorted(by_category.items()):
        exact = Decimal(total).scaleb(-minor_units(ctx.currency)) * item.bundle_discount / 100
        amount = Money(-round_minor(exact, ctx.currency, ctx.rounding), ctx.currency)
        out.append(
            QuoteLine(
                "discount",
                item.plan.code,
                f"bundle {item.bundle_code} discount {item.bundle_discount}%",
                Decimal(1),
                -exact,
                amount,
                category,
            )
        )
    return out


def quote(
    items: list[QuoteItem],
    ctx: QuoteContext,
    adjust: Callable[[list[QuoteLine]], list[QuoteLine]] | None = None,
) -> Quote:
    """Every line of every item (and the lines ``adjust`` adds for them: an offer's discounts), then tax
    per rate on the invoice total of the lines carrying it."""
    lines: list[QuoteLine] = []
    for item in items:
        lines += item_lines(item, ctx)
    if adjust is not None:
        lines += adjust(lines)
    rates = {line.tax_category: ctx.tax_rates.get(line.tax_category, NO_TAX) for line in lines}
    taxable = [TaxableLine(line.amount, rates[line.tax_category]) for line in lines]
    result = compute_tax(
        taxable, ctx.currency, inclusive=ctx.tax_inclusive, status=ctx.tax_status, mode=ctx.rounding
    )
    return Quote(tuple(lines), result, rates)
