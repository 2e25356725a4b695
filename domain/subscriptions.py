"""Subscription rules: the state machine and the charges a change produces (pure).

Every amount comes from the pricing engine (periods, proration, the one rounding function). Charges
are produced only for terms billed in advance: a term billed in arrears is charged by the bill run
from the services' effective dates, so a change there needs no adjustment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.catalog import BillingTerm, PlanSpec
from domain.errors import Conflict
from domain.money import Money, RoundingMode, round_minor
from domain.periods import Period, period_containing
from domain.proration import charge_from, credit_from
from domain.quote import QuoteContext, bill_day_for, phase_spans

TRANSITIONS: dict[str, dict[str, str]] = {
    # action → {from status: to status}
    "activate": {"draft": "active"},
    "fail": {"draft": "failed"},
    "suspend": {"active": "suspended"},
    "resume": {"suspended": "active"},
    "terminate": {"active": "terminated", "suspended": "terminated"},
    "regret": {"active": "regretted", "suspended": "regretted"},
    "change": {"active": "active"},
}


def next_status(action: str, status: str, subscription_id: str) -> str:
    """The status after ``action``; a Conflict naming both when the action is not allowed now."""
    target = TRANSITIONS[action].get(status)
    if target is None:
        allowed = ", ".join(sorted(TRANSITIONS[action]))
        raise Conflict(
            "invalid_state", f"cannot {action} {subscription_id}: it is {status} (allowed from: {allowed})"
        )
    return target


@dataclass(frozen=True)
class ChargeLine:
    kind: str  # one_off | device_sale | proration_charge | proration_credit | refund
    description: str
    amount: Money
    quantity: int
    unit_price: Decimal
    tax_category: str
    period: Period | None = None


@dataclass(frozen=True)
class ServiceTerms:
    """What pricing needs to know about one service of a subscription."""

    plan: PlanSpec
    started_on: date
    quantity: int
    currency: str
    bill_day: int
    subscription_start: date
    rounding: RoundingMode = RoundingMode.HALF_UP


def _context(terms: ServiceTerms) -> QuoteContext:
    return QuoteContext(terms.currency, bill_day=terms.bill_day, rounding=terms.rounding)


def period_on(terms: ServiceTerms, day: date) -> Period:
    plan = terms.plan
    bill_day = bill_day_for(plan, terms.subscription_start, _context(terms))
    return period_containing(
        day, bill_day, plan.billing_period, plan.billing_interval, terms.subscription_start
    )


def price_on(terms: ServiceTerms, day: date) -> Money:
    """The full-period price of the service (times its quantity) on ``day``, from the phase in force."""
    price = Decimal(0)
    for start, until, phase_price, _ in phase_spans(terms.plan, terms.started_on, _context(terms)):
        if start <= day and (until is None or day < until):
            price = phase_price
    return Money(round_minor(price * terms.quantity, terms.currency, terms.rounding), terms.currency)


def activation_charges(terms: ServiceTerms) -> list[ChargeLine]:
    """One-off fees and a device sold with the plan, due when the service starts."""
    plan, lines = terms.plan, []
    for fee in plan.one_off_fees:
        lines.append(_once("one_off", fee.name, fee.prices, terms))
    if plan.device is not None and plan.device.mode == "sell":
        lines.append(_once("device_sale", f"device {plan.device.product_code}", plan.device.prices, terms))
    if plan.access_hours and plan.on_demand_prices is not None:
        lines.append(_once("on_demand", f"{plan.name}, {plan.access_hours} h", plan.on_demand_prices, terms))
    return lines


def _once(kind: str, description: str, prices: dict[str, Decimal], terms: ServiceTerms) -> ChargeLine:
    unit = prices[terms.currency]
    amount = Money(round_minor(unit * terms.quantity, terms.currency, terms.rounding), terms.currency)
    return ChargeLine(kind, description, amount, terms.quantity, unit, terms.plan.tax_category)


def _in_advance(plan: PlanSpec) -> bool:
    return plan.billing_term in (BillingTerm.IN_ADVANCE, BillingTerm.PREPAID, BillingTerm.VOUCHER)


def stop_credit(terms: ServiceTerms, stop_on: date, why: str) -> ChargeLine | None:
    """Credit of the unused days when a service paid in advance stops (or pauses) on ``stop_on``."""
    if (
        not _in_advance(terms.plan)
        or terms.plan.refund_policy == "none"
        or stop_on < terms.subscription_start
    ):
        return None
    period = period_on(terms, stop_on)
    price = price_on(terms, stop_on)
    credit = credit_from(price, period, stop_on, terms.rounding)
    if credit.amount.amount_minor == 0:
        return None
    return ChargeLine(
        "proration_credit",
        f"{why}: unused days of {terms.plan.name}",
        credit.amount,
        terms.quantity,
        price.to_decimal(),
        terms.plan.tax_category,
        period,
    )


def start_charge(terms: ServiceTerms, start_on: date, why: str) -> ChargeLine | None:
    """The remaining days of the period when a service paid in advance starts (or resumes) mid-period."""
    if not _in_advance(terms.plan):
        return None
    period = period_on(terms, start_on)
    price = price_on(terms, start_on)
    charge = charge_from(price, period, start_on, terms.rounding)
    if charge.amount.amount_minor == 0:
        return None
    return ChargeLine(
        "proration_charge",
        f"{why}: remaining days of {terms.plan.name}",
        charge.amount,
        terms.quantity,
        price.to_decimal(),
        terms.plan.tax_category,
        period,
    )


def change_charges(old: ServiceTerms, new: ServiceTerms, change_on: date) -> list[ChargeLine]:
    """An immediate change on ``change_on``: credit the old plan's unused days, charge the new plan's rest."""
    lines = [stop_credit(old, change_on, "plan change"), start_charge(new, change_on, "plan change")]
    return [line for line in lines if line is not None]
