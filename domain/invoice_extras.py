"""A bill run's device rentals and bundle discounts (pure), priced by the quote engine's own functions.

A rental belongs to a line's device: billed on the renting plan's period grid (the subscription's, as
the recurring charge), from the service's first day until the service or the subscription ends or the
device goes back, prorated like the recurring charge by ``domain.quote.device_rental_lines``; in
advance when the plan bills in advance, else for elapsed periods. Each day of a line's rental is billed
once, also across a plan change between two renting plans on different grids (monthly and yearly): the
guard holds the days billed, and a service bills only the days of its periods no service of its line
billed, so the rental continues on the new grid from the last day billed on the old one.

A bundle discount is the quote's (``domain.quote.bundle_discount_lines``): the bundle's percent of the
recurring charge a service sold in the bundle is billed for a period, per tax category; once per
service and period. The ``billed`` set (the ``billed_charges`` table) is the guard for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from domain.catalog import BillingTerm, PlanSpec
from domain.invoicing import DraftLine, ServiceSpan, SubscriptionToBill, covered_until, due
from domain.money import Money
from domain.offers import ActiveDiscount, Taken, discount_draft_lines
from domain.periods import Period
from domain.quote import QuoteContext, QuoteItem, QuoteLine, bundle_discount_lines, device_rental_lines
from domain.subscriptions import ChargeLine, ServiceTerms

RENTAL = "device_rental"
DISCOUNT = "discount"
RENTAL_REVENUE = "device"
RENTAL_CREDIT = "rental_credit"


@dataclass(frozen=True)
class ChargeSpan:
    """Days billed for a rental (``key``: the line; the days of a period billed) or a period billed for
    a discount (``key``: the service)."""

    charge: str
    key: str
    start: date
    end: date

    def covers(self, charge: str, key: str, period: Period) -> bool:
        return (
            self.charge == charge and self.key == key and self.start < period.end and period.start < self.end
        )


@dataclass(frozen=True)
class Extras:
    """What a subscription's rentals and discounts depend on beyond its services."""

    billed: frozenset[ChargeSpan] = frozenset()
    returned: dict[str, date] = field(default_factory=dict)  # line -> local day its device went back
    discounts: dict[str, tuple[str, Decimal]] = field(default_factory=dict)  # service -> (bundle, percent)
    offers: tuple[ActiveDiscount, ...] = ()  # accepted discount offers (domain/offers.py)


@dataclass
class ExtraWork:
    lines: list[DraftLine] = field(default_factory=list)
    billed: list[ChargeSpan] = field(default_factory=list)


def _paused(sub: SubscriptionToBill, day: date) -> bool:
    return any(start <= day and (until is None or day < until) for start, until in sub.paused)


def _rental_until(sub: SubscriptionToBill, span: ServiceSpan, extras: Extras) -> date | None:
    ends = [d for d in (span.ended_on, sub.end_date, extras.returned.get(span.line_id)) if d is not None]
    return min(ends) if ends else None


def _uncovered(a: date, b: date, spans: list[ChargeSpan]) -> list[tuple[date, date]]:
    """The days of ``[a, b)`` no span covers, as ordered ``[from, until)`` pieces."""
    pieces = [(a, b)]
    for span in spans:
        rest = []
        for lo, hi in pieces:
            if span.end <= lo or hi <= span.start:
                rest.append((lo, hi))
                continue
            if lo < span.start:
                rest.append((lo, span.start))
            if span.end < hi:
                rest.append((span.end, hi))
        pieces = rest
    return pieces


def _rents(plan: PlanSpec) -> bool:
    """Whether the plan bills a device rental (not for access-hours passes)."""
    return not plan.access_hours and plan.device is not None and plan.device.mode == "rent"


def _rental(
    sub: SubscriptionToBill, span: ServiceSpan, extras: Extras, up_to: date, ctx: QuoteContext
) -> ExtraWork:
    """The service's rental on its plan's grid, less the days already billed for its line (by this
    service or another: a plan change between two renting plans continues the rental from the last day
    billed on the old grid, on the new grid, whichever grid is longer): no day billed twice or skipped."""
    work = ExtraWork()
    plan, device = span.plan, span.plan.device
    if device is None or not _rents(plan):
        return work
    line_spans = [b for b in extras.billed if b.charge == RENTAL and b.key == span.line_id]
    # the days billed without a break from the service's first are not walked again (a line rented for
    # years costs a run what a new one does)
    first = covered_until(line_spans, span.started_on)
    until = _rental_until(sub, span, extras)
    if until is not None and until <= first:
        return work
    arrears = plan.billing_term is BillingTerm.IN_ARREARS
    grid = replace(ctx, bill_day=sub.bill_day)
    item = QuoteItem(plan, first, quantity=span.quantity)
    horizon = up_to + timedelta(days=1)
    for quoted in device_rental_lines(plan, item, until, horizon, grid, align=sub.start_date):
        period, a, b = quoted.period, quoted.service_start, quoted.service_end
        assert period is not None and a is not None and b is not None
        if (period.end > up_to) if arrears else (period.start > up_to):
            continue
        for lo, hi in _uncovered(a, b, line_spans):
            work.billed.append(ChargeSpan(RENTAL, span.line_id, lo, hi))
            if _paused(sub, lo):
                continue
            piece = quoted
            if (lo, hi) != (a, b):  # the quote's rental of the days not billed yet
                part = QuoteItem(plan, lo, quantity=span.quantity)
                piece = device_rental_lines(plan, part, hi, horizon, grid, align=sub.start_date)[0]
            work.lines.append(
                DraftLine(
                    sub.subscription_id,
                    span.service_id,
                    RENTAL,
                    f"rental of {device.product_code} {lo} to {hi}",
                    period,
                    lo,
                    hi,
                    piece.quantity,
                    piece.unit_price,
                    piece.amount,
                    piece.tax_category,
                    RENTAL_REVENUE,
                )
            )
    return work


def _discount(
    span: ServiceSpan, lines: list[DraftLine], bundle: str, percent: Decimal, ctx: QuoteContext
) -> list[DraftLine]:
    """The quote's bundle discount of one service's recurring lines of one period."""
    period = lines[0].period
    a = min(line.start for line in lines if line.start)
    b = max(line.end for line in lines if line.end)
    quoted = [
        QuoteLine(
            line.kind,
            span.plan.code,
            line.description,
            line.quantity,
            line.unit_price,
            line.amount,
            line.tax_category,
            line.start,
            line.end,
            line.period,
        )
        for line in lines
    ]
    item = QuoteItem(span.plan, span.started_on, bundle_code=bundle, bundle_discount=percent)
    return [
        DraftLine(
            lines[0].subscription_id,
            span.service_id,
            DISCOUNT,
            f"{discount.description} ({span.plan.name} {a} to {b})",
            period,
            a,
            b,
            discount.quantity,
            discount.unit_price,
            discount.amount,
            discount.tax_category,
            span.revenue_kind,
        )
        for discount in bundle_discount_lines(item, quoted, ctx)
    ]


def _discounts(
    sub: SubscriptionToBill, extras: Extras, recurring: list[DraftLine], ctx: QuoteContext
) -> ExtraWork:
    work = ExtraWork()
    spans = {span.service_id: span for span in sub.services}
    groups: dict[tuple[date, str], list[DraftLine]] = {}
    for line in recurring:
        service = line.service_id or ""
        if line.kind == "recurring" and line.period is not None and service in extras.discounts:
            groups.setdefault((line.period.start, service), []).append(line)
    for (_, service), lines in sorted(groups.items()):
        period = lines[0].period
        assert period is not None
        if any(billed.covers(DISCOUNT, service, period) for billed in extras.billed):
            continue
        bundle, percent = extras.discounts[service]
        work.lines += _discount(spans[service], lines, bundle, percent, ctx)
        work.billed.append(ChargeSpan(DISCOUNT, service, period.start, period.end))
    return work


def rentals_due(sub: SubscriptionToBill, extras: Extras, up_to: date, ctx: QuoteContext) -> ExtraWork:
    """The device rental days due by ``up_to`` not billed before, in service order."""
    work = ExtraWork()
    for span in sorted(sub.services, key=lambda s: (s.line_id, s.started_on, s.service_id)):
        if not _rents(span.plan):
            continue
        so_far = replace(extras, billed=extras.billed | frozenset(work.billed))  # a line's earlier services
        rental = _rental(sub, span, so_far, up_to, ctx)
        work.lines += rental.lines
        work.billed += rental.billed
    work.lines.sort(key=lambda ln: (ln.start or date.min, ln.service_id or ""))
    return work


def extras_due(
    sub: SubscriptionToBill, extras: Extras, recurring: list[DraftLine], up_to: date, ctx: QuoteContext
) -> ExtraWork:
    """The rentals due by ``up_to`` and the discounts of the recurring lines billed now, not billed before."""
    work = rentals_due(sub, extras, up_to, ctx)
    discounts = _discounts(sub, extras, recurring, ctx)
    work.lines += discounts.lines
    work.billed += discounts.billed
    offers = _offer_discounts(sub, extras, recurring)
    work.lines += offers.lines
    work.billed += offers.billed
    return work


NEVER = date(9999, 1, 1)  # a run date after every period of any subscription that has ended


def fully_billed(sub: SubscriptionToBill, extras: Extras, ctx: QuoteContext) -> bool:
    """Whether a run on any later date would bill nothing of this ended subscription's own: no period
    of a service and no rental day left unbilled (in arrears: the period holding its last day billed
    too). Its discounts follow those lines; pending charges and rated usage are not looked at here (the
    run's query watches for them)."""
    if sub.end_date is None:
        return False
    return not due(sub, NEVER, ctx).periods and not rentals_due(sub, extras, NEVER, ctx).billed


def _offer_discounts(sub: SubscriptionToBill, extras: Extras, recurring: list[DraftLine]) -> ExtraWork:
    """Accepted discount offers' lines, once per period (the guard: a ``discount`` span keyed by the
    redemption, so it never meets a bundle discount's, keyed by the service)."""
    work = ExtraWork()
    plan_of = {span.service_id: span.plan.code for span in sub.services}
    taken: Taken = {}  # stacked offers never take off more than the charge
    for offer in extras.offers:
        done = frozenset(
            b.start for b in extras.billed if b.charge == DISCOUNT and b.key == offer.redemption_id
        )
        lines = discount_draft_lines(replace(offer, periods_billed=done), recurring, plan_of, taken)
        work.lines += lines
        work.billed += [
            ChargeSpan(DISCOUNT, offer.redemption_id, line.period.start, line.period.end)
            for line in lines
            if line.period is not None
        ]
    return work


def _quoted(line: ChargeLine, kind: str, plan: PlanSpec) -> QuoteLine:
    return QuoteLine(
        kind,
        plan.code,
        line.description,
        Decimal(line.quantity),
        line.unit_price,
        line.amount,
        line.tax_category,
    )


def _discount_minor(lines: list[QuoteLine], item: QuoteItem, category: str, ctx: QuoteContext) -> int:
    """The quote's bundle discount of ``lines`` in one tax category (rounded once, as the quote does)."""
    discounts = bundle_discount_lines(item, lines, ctx)
    return sum(d.amount.amount_minor for d in discounts if d.tax_category == category)


def credit_net_of_discount(
    credit: ChargeLine, plan: PlanSpec, started_on: date, bundle: str, percent: Decimal, ctx: QuoteContext
) -> ChargeLine:
    """A discounted service's credit less its bundle discount, as the quote nets it: the quote's
    discount of the credit line (``domain.quote.bundle_discount_lines``) is taken off the credit."""
    item = QuoteItem(plan, started_on, bundle_code=bundle, bundle_discount=percent)
    share = _discount_minor([_quoted(credit, "credit", plan)], item, credit.tax_category, ctx)
    return replace(
        credit,
        amount=Money(credit.amount.amount_minor + share, credit.amount.currency),
        description=f"{credit.description}, less bundle {bundle} discount {percent}%",
    )


def charge_net_of_discount(
    charge: ChargeLine,
    credits: list[ChargeLine],
    plan: PlanSpec,
    started_on: date,
    bundle: str,
    percent: Decimal,
    ctx: QuoteContext,
) -> ChargeLine:
    """A discounted service's charge for the rest of a period (it starts or resumes with a change) less
    its bundle discount, as the quote discounts a period's net: the quote's discount of the charge
    together with the period's credits netted by :func:`credit_net_of_discount` (``credits``, before
    netting), less those credits' own discounts; so the period's discounts add up to the quote's
    discount of its net, rounded once per tax category, never a cent apart."""
    item = QuoteItem(plan, started_on, bundle_code=bundle, bundle_discount=percent)
    category = charge.tax_category
    same = [_quoted(c, "credit", plan) for c in credits if c.tax_category == category]
    together = _discount_minor([*same, _quoted(charge, "recurring", plan)], item, category, ctx)
    share = together - sum(_discount_minor([c], item, category, ctx) for c in same)
    return replace(
        charge,
        amount=Money(charge.amount.amount_minor + share, charge.amount.currency),
        description=f"{charge.description}, less bundle {bundle} discount {percent}%",
    )


@dataclass(frozen=True)
class RentalBilled:
    """Days a run billed for a line's rental (a ``billed_charges`` row) and the plan that billed them."""

    start: date
    end: date
    plan: PlanSpec


def _rental_minor(plan: PlanSpec, terms: ServiceTerms, start: date, end: date, ctx: QuoteContext) -> int:
    """What a run bills for the rental of ``[start, end)`` on ``plan``'s grid (as ``_rental`` prices it)."""
    if end <= start:
        return 0
    item = QuoteItem(plan, start, quantity=terms.quantity)
    lines = device_rental_lines(plan, item, end, end, ctx, align=terms.subscription_start)
    return sum(line.amount.amount_minor for line in lines)


def rental_credit(
    terms: ServiceTerms, stop_on: date, why: str, billed: Sequence[RentalBilled]
) -> ChargeLine | None:
    """The unused rental days billed when a service renting its device stops on ``stop_on`` (the plan's
    refund policy, as the recurring charge's :func:`domain.subscriptions.stop_credit`): for each span of
    days billed for the line (``billed``, whichever service of the line billed it) reaching past the
    stop, what the run billed for it less the rental of its days before the stop, priced by the plan
    that billed it. Days not billed yet are not credited: a run bills the rental only up to the stop.
    The credit's period is the stopping service's period holding ``stop_on``."""
    plan, device = terms.plan, terms.plan.device
    if (
        device is None
        or device.mode != "rent"
        or plan.access_hours
        or plan.billing_term is BillingTerm.IN_ARREARS
        or plan.refund_policy == "none"
        or stop_on < terms.subscription_start
    ):
        return None
    ctx = QuoteContext(terms.currency, bill_day=terms.bill_day, rounding=terms.rounding)
    item = QuoteItem(plan, terms.started_on, quantity=terms.quantity)
    horizon, align = stop_on + timedelta(days=1), terms.subscription_start
    holding = [
        line
        for line in device_rental_lines(plan, item, None, horizon, ctx, align=align)
        if line.period is not None and line.period.start <= stop_on < line.period.end
    ]
    if not holding:
        return None
    unused = sum(
        _rental_minor(span.plan, terms, span.start, span.end, ctx)
        - _rental_minor(span.plan, terms, span.start, stop_on, ctx)
        for span in billed
        if span.end > stop_on
    )
    if unused <= 0:
        return None
    return ChargeLine(
        RENTAL_CREDIT,
        f"{why}: unused days of the rental of {device.product_code}",
        Money(-unused, terms.currency),
        terms.quantity,
        holding[0].unit_price,
        holding[0].tax_category,
        holding[0].period,
    )
