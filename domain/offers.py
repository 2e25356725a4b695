"""Targeted offers (pure): what an offer gives, who may accept it when, whether it stacks with what an
account already has, and the discount it takes off a period's recurring charge.

Kinds:
- ``discount``: a percentage or amount off a plan's (or add-on's) recurring charge for N periods;
- ``addon``: an add-on bought through a plan change, free (100 %) or discounted for N periods;
- ``upgrade``: a change to another plan through a plan change, at a special price (a discount) for N periods;
- ``wallet_credit``: bonus credit in the account's wallet (a marketing expense);
- ``voucher``: a voucher code of a value, issued once to the account.

A discount is taken per billing period from the recurring charge of the offer's plan billed for that
period, rounded once per period (``domain.money.round_minor``), never more than the charge itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from domain.currency import minor_units
from domain.errors import Conflict
from domain.invoicing import DraftLine
from domain.money import Money, RoundingMode, round_minor
from domain.periods import Period
from domain.quote import QuoteLine

OfferKind = Literal["discount", "addon", "upgrade", "wallet_credit", "voucher"]
OFFER_KINDS: tuple[str, ...] = ("discount", "addon", "upgrade", "wallet_credit", "voucher")
DISCOUNT_KINDS = frozenset({"discount", "addon", "upgrade"})  # billed as a discount line for N periods
VALUE_KINDS = frozenset({"wallet_credit", "voucher"})  # a value given once
CHANGE_KINDS = frozenset({"addon", "upgrade"})  # applied through a PlanChange process
Stacking = Literal["exclusive", "stackable"]
OFFER_STATUSES = ("active", "paused", "ended")
LINE_KIND = "offer_discount"


class OfferRefused(Conflict):
    """An accept refused for a business reason (409 with the reason as the code)."""


@dataclass(frozen=True)
class Terms:
    """What an offer gives: a discount (``percent`` or ``amount_minor`` off ``plan_code`` for ``periods``)
    or a value (``value_minor``), in ``currency``."""

    kind: str
    currency: str
    plan_code: str | None = None
    percent: Decimal | None = None
    amount_minor: int | None = None
    periods: int | None = None
    value_minor: int | None = None


@dataclass(frozen=True)
class Eligibility:
    status: str
    starts_on: date
    ends_on: date | None
    channels: tuple[str, ...]  # empty: any channel
    segments: tuple[str, ...]  # empty: everyone (unless grant_only)
    grant_only: bool = False


@dataclass(frozen=True)
class Caps:
    total: int | None
    per_account: int | None
    redeemed: int
    redeemed_by_account: int


@dataclass(frozen=True)
class StackRule:
    offer_id: str
    stacking: str
    group: str | None


def ineligibility(
    rule: Eligibility, today: date, channel: str, member_of: Iterable[str], granted: bool
) -> str | None:
    """Why an account may not take an offer today through ``channel`` (None: it may). ``member_of`` are
    the ids of the segments the account is in; ``granted``: the offer was granted to it (a loyalty award)."""
    if rule.status == "paused":
        return "offer_paused"
    if rule.status == "ended" or (rule.ends_on is not None and today > rule.ends_on):
        return "offer_ended"
    if today < rule.starts_on:
        return "offer_not_started"
    if rule.channels and channel not in rule.channels:
        return "channel_not_eligible"
    if granted:
        return None
    if rule.grant_only:
        return "account_not_eligible"
    if rule.segments and not set(rule.segments) & set(member_of):
        return "account_not_eligible"
    return None


def cap_reached(caps: Caps) -> str | None:
    """Why one more redemption would go beyond a cap (None: it would not)."""
    if caps.total is not None and caps.redeemed >= caps.total:
        return "offer_cap_reached"
    if caps.per_account is not None and caps.redeemed_by_account >= caps.per_account:
        return "account_cap_reached"
    return None


def stacks_with(new: StackRule, active: Sequence[StackRule]) -> StackRule | None:
    """The first active redemption's rule ``new`` cannot be held together with (None: it stacks with all).

    An exclusive offer stands alone (nothing else active, nothing added to it); a stackable offer with a
    group stacks with stackable offers of the same group; one without a group with any stackable offer
    without a group."""
    for other in active:
        if new.stacking == "exclusive" or other.stacking == "exclusive":
            return other
        if new.group != other.group:
            return other
    return None


def discount_minor(charge_minor: int, terms: Terms, mode: RoundingMode = RoundingMode.HALF_UP) -> int:
    """The discount (a positive count of minor units) off one period's charge of ``charge_minor``: the
    percentage rounded once, or the amount; never more than the charge, nothing off a credit."""
    if charge_minor <= 0:
        return 0
    if terms.percent is not None:
        exact = Decimal(charge_minor).scaleb(-minor_units(terms.currency)) * terms.percent / 100
        off = round_minor(exact, terms.currency, mode)
    else:
        off = terms.amount_minor or 0
    return max(0, min(off, charge_minor))


def describe(name: str, terms: Terms) -> str:
    """The invoice (and quote) line's text, e.g. ``offer SPRING20: 20% off TV-BASIC``."""
    if terms.percent is not None:
        what = f"{terms.percent.normalize():f}% off"
    else:
        what = f"{Money(terms.amount_minor or 0, terms.currency).format()} off"
    return f"offer {name}: {what} {terms.plan_code}"


def estimated_cost(terms: Terms, price_minor: int | None) -> int:
    """The operator's cost of one redemption: the value given, or the discount over its periods of a plan
    priced at ``price_minor`` a period (0 when the price is not known)."""
    if terms.kind in VALUE_KINDS:
        return terms.value_minor or 0
    if price_minor is None:
        return 0
    return discount_minor(price_minor, terms) * (terms.periods or 0)


@dataclass(frozen=True)
class ActiveDiscount:
    """An accepted discount offer as a bill run (or a quote) applies it: ``periods_billed`` are the starts
    of the periods already discounted; periods ending on or before ``from_day`` are never discounted."""

    redemption_id: str
    offer_code: str
    terms: Terms
    from_day: date
    periods_billed: frozenset[date] = frozenset()


DISCOUNTED = ("recurring", "proration_charge")
"""What an offer discounts on a bill: a period's recurring charge, or the charge for the rest of a period
a plan change made (the add-on or upgrade an offer bought starts with one)."""


def _period_of(line: DraftLine) -> Period | None:
    if line.period is not None:
        return line.period
    if line.start is not None and line.end is not None and line.start < line.end:
        return Period(line.start, line.end)
    return None


Taken = dict[tuple[date, str], int]
"""What stacked offers already took off a charge, by (period start, service or plan): read and added to
as each offer's lines are made, so offers held together never take off more than the charge."""


def discount_draft_lines(
    discount: ActiveDiscount,
    recurring: Sequence[DraftLine],
    plan_of: dict[str, str],
    taken: Taken | None = None,
) -> list[DraftLine]:
    """The discount lines of a bill run's recurring lines (``plan_of``: service -> plan code): one per
    period of the offer's plan not discounted before, in period order, until ``periods`` are discounted.

    With ``taken`` (one dict shared by the offers of a bill, in redemption order) an offer takes off at
    most what the offers before it left of a period's charge; a period they left nothing of is not one of
    its periods (it is discounted later, when a charge is left)."""
    terms = discount.terms
    groups: dict[tuple[date, str], list[DraftLine]] = {}
    for line in recurring:
        service = line.service_id or ""
        period = _period_of(line)
        if (
            line.kind in DISCOUNTED
            and line.amount.amount_minor > 0
            and period is not None
            and plan_of.get(service) == terms.plan_code
            and period.end > discount.from_day
        ):
            groups.setdefault((period.start, service), []).append(line)
    left = (terms.periods or 0) - len(discount.periods_billed)
    out: list[DraftLine] = []
    for (start, _), lines in sorted(groups.items()):
        if start in discount.periods_billed:
            continue
        if left <= 0:
            break
        charge = sum(line.amount.amount_minor for line in lines)
        off = _left_off(taken, (start, service), charge, discount_minor(charge, terms))
        if off <= 0:
            continue
        first, period = lines[0], _period_of(lines[0])
        assert period is not None
        out.append(
            DraftLine(
                first.subscription_id,
                first.service_id,
                LINE_KIND,
                f"{describe(discount.offer_code, terms)} ({period.start} to {period.end})",
                period,
                period.start,
                period.end,
                Decimal(1),
                -Decimal(off).scaleb(-minor_units(terms.currency)),
                Money(-off, terms.currency),
                first.tax_category,
                first.revenue_kind,
            )
        )
        left -= 1
    return out


def _left_off(taken: Taken | None, key: tuple[date, str], charge: int, off: int) -> int:
    """``off`` as far as the charge allows after what other offers took (noted in ``taken``)."""
    if taken is None:
        return off
    off = max(0, min(off, charge - taken.get(key, 0)))
    taken[key] = taken.get(key, 0) + off
    return off


def discount_quote_lines(discounts: Sequence[ActiveDiscount], lines: Sequence[QuoteLine]) -> list[QuoteLine]:
    """The discount lines a quote shows for offers: per offer, one line per period of its plan (in period
    order) not discounted before, until its ``periods`` are discounted. Offers held together never take
    off more than a period's charge (the later ones take what is left, as on the bill)."""
    out: list[QuoteLine] = []
    taken: Taken = {}
    for discount in discounts:
        terms = discount.terms
        groups: dict[date, list[QuoteLine]] = {}
        for line in lines:
            if (
                line.kind == "recurring"
                and line.period is not None
                and line.plan_code == terms.plan_code
                and line.amount.currency == terms.currency
                and line.period.end > discount.from_day
            ):
                groups.setdefault(line.period.start, []).append(line)
        left = (terms.periods or 0) - len(discount.periods_billed)
        for start, group in sorted(groups.items()):
            if start in discount.periods_billed:
                continue
            if left <= 0:
                break
            charge = sum(line.amount.amount_minor for line in group)
            off = _left_off(taken, (start, terms.plan_code or ""), charge, discount_minor(charge, terms))
            if off <= 0:
                continue
            period = group[0].period
            assert period is not None
            out.append(
                QuoteLine(
                    LINE_KIND,
                    group[0].plan_code,
                    describe(discount.offer_code, terms),
                    Decimal(1),
                    -Decimal(off).scaleb(-minor_units(terms.currency)),
                    Money(-off, terms.currency),
                    group[0].tax_category,
                    period.start,
                    period.end,
                    period,
                )
            )
            left -= 1
    return out
