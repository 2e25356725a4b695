"""Loyalty award rules (pure): what a rule looks at, what it awards, award periods and points arithmetic.

A rule is data (JSON validated by the models below, never evaluated as code): one *criterion* and one
*award*. The criteria:

- ``maturity``: the account has had a subscription active for at least ``months_active`` whole months at
  the end of the period (its oldest active subscription's start date counts).
- ``services``: at the end of the period the account has active services of every product kind named
  (a triple play: ``["video", "broadband", "telephony"]``).
- ``usage``: the account consumed at least ``min_services`` distinct usage services (metrics: voice,
  sms, data…; only those in ``metrics`` when given) during the period (accepted usage events).
- ``spend``: the account spent at least ``min_amount_minor`` in ``currency`` within the ``months`` ending
  with the period: ``basis`` ``billed`` sums its issued invoices (issue date in the window, void ones
  excluded), ``paid`` sums its succeeded payments (received in the window) less what was refunded.

Awards: ``points`` (a fixed number, plus ``points_per_major_unit`` of what was spent for a spend rule),
``wallet_credit`` (a fixed amount), ``voucher`` (a code worth ``value_minor``, valid ``valid_days``) and
``offer`` (an offer code handed to the offers area). A rule awards at most once per (rule, account,
period): per calendar month (``frequency: per_period``) or once ever (``frequency: once``).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.catalog import Code, ProductKind
from domain.currency import MINOR_UNITS, minor_units
from domain.errors import Conflict, RuleViolation
from domain.ledger import Posting, check_balanced, side
from domain.money import AmountMinor, round_minor

PERIOD_ONCE = "once"
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MARKETING_EXPENSE = "marketing:loyalty"
VOUCHER_CLEARING = "cash:voucher"
WALLET = "wallet"
LOYALTY_KINDS = (ProductKind.VIDEO, ProductKind.BROADBAND, ProductKind.TELEPHONY, ProductKind.PARTNER_SERVICE)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_currency(currency: str) -> str:
    if currency not in MINOR_UNITS:
        raise ValueError(f"{currency!r} is not an ISO 4217 currency")
    return currency


class MaturityCriterion(_Spec):
    kind: Literal["maturity"]
    months_active: int = Field(ge=1, le=600, description="whole months of an active subscription")


class ServicesCriterion(_Spec):
    kind: Literal["services"]
    product_kinds: list[ProductKind] = Field(min_length=1, max_length=4)

    @model_validator(mode="after")
    def _distinct_service_kinds(self) -> ServicesCriterion:
        if len(set(self.product_kinds)) != len(self.product_kinds):
            raise ValueError("product_kinds must be distinct")
        if any(k not in LOYALTY_KINDS for k in self.product_kinds):
            raise ValueError("product_kinds are service kinds: video, broadband, telephony, partner_service")
        return self


class UsageCriterion(_Spec):
    kind: Literal["usage"]
    min_services: int = Field(ge=1, le=50, description="distinct usage services (metrics) consumed")
    metrics: list[Code] | None = Field(default=None, min_length=1, max_length=50)


class SpendCriterion(_Spec):
    kind: Literal["spend"]
    basis: Literal["billed", "paid"]
    min_amount_minor: AmountMinor = Field(ge=0)
    currency: str = Field(pattern="^[A-Z]{3}$")
    months: int = Field(
        default=1, ge=1, le=12, description="the window: this many months ending with the period"
    )

    @model_validator(mode="after")
    def _known_currency(self) -> SpendCriterion:
        _check_currency(self.currency)
        return self


Criterion = Annotated[
    MaturityCriterion | ServicesCriterion | UsageCriterion | SpendCriterion, Field(discriminator="kind")
]


class PointsAward(_Spec):
    kind: Literal["points"]
    points: int = Field(ge=0, le=10_000_000)
    points_per_major_unit: Decimal | None = Field(
        default=None,
        ge=0,
        le=1000,
        max_digits=12,
        decimal_places=4,
        description="spend rules only: points per major unit spent, rounded down",
    )


class WalletCreditAward(_Spec):
    kind: Literal["wallet_credit"]
    amount_minor: AmountMinor = Field(gt=0)
    currency: str = Field(pattern="^[A-Z]{3}$")

    @model_validator(mode="after")
    def _known_currency(self) -> WalletCreditAward:
        _check_currency(self.currency)
        return self


class VoucherAward(_Spec):
    kind: Literal["voucher"]
    value_minor: AmountMinor = Field(gt=0)
    currency: str = Field(pattern="^[A-Z]{3}$")
    valid_days: int = Field(default=90, ge=1, le=3650)

    @model_validator(mode="after")
    def _known_currency(self) -> VoucherAward:
        _check_currency(self.currency)
        return self


class OfferAward(_Spec):
    kind: Literal["offer"]
    offer_code: Code


Award = Annotated[PointsAward | WalletCreditAward | VoucherAward | OfferAward, Field(discriminator="kind")]


class Frequency(StrEnum):
    PER_PERIOD = "per_period"
    ONCE = "once"


class RuleDefinition(_Spec):
    """What an operator configures: one criterion, one award, how often."""

    criterion: Criterion
    award: Award
    frequency: Frequency = Frequency.PER_PERIOD

    @model_validator(mode="after")
    def _coherent(self) -> RuleDefinition:
        if (
            isinstance(self.award, PointsAward)
            and self.award.points_per_major_unit is not None
            and not isinstance(self.criterion, SpendCriterion)
        ):
            raise ValueError("award.points_per_major_unit needs a spend criterion")
        if (
            isinstance(self.award, PointsAward)
            and self.award.points == 0
            and not self.award.points_per_major_unit
        ):
            raise ValueError("award.points: a points award gives at least one point")
        return self


# ---- periods -------------------------------------------------------------------------------------------


def period_of(day: date) -> str:
    """The award period (calendar month) containing ``day``: ``"2026-11"``."""
    return f"{day.year:04d}-{day.month:02d}"


def parse_period(key: str) -> tuple[date, date]:
    """A period key's first day and the first day after it (a RuleViolation on a bad key)."""
    match = _PERIOD.match(key)
    if match is None:
        raise RuleViolation("period_invalid", f"{key!r} is not a period (YYYY-MM)", field="period")
    start = date(int(match.group(1)), int(match.group(2)), 1)
    return start, add_months(start, 1)


def previous_period(today: date) -> str:
    """The last complete period before ``today`` (what a scheduled run awards)."""
    return period_of(today.replace(day=1) - timedelta(days=1))


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` (negative: back), clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def award_period(frequency: Frequency, period: str) -> str:
    """The key the (rule, account, period) guard uses: the period, or ``once`` for a once-ever rule."""
    return PERIOD_ONCE if frequency is Frequency.ONCE else period


def matured_by(period_end: date, months_active: int) -> date:
    """A subscription started on or before this day has ``months_active`` whole months at ``period_end``
    (the first day after the period)."""
    return add_months(period_end, -months_active)


def spend_window(period: str, months: int) -> tuple[date, date]:
    """The ``months`` ending with ``period``: first day, first day after."""
    start, end = parse_period(period)
    return add_months(start, -(months - 1)), end


def spend_points(spent_minor: int, currency: str, per_major_unit: Decimal | None) -> int:
    """Points for what was spent: ``per_major_unit`` points per major unit, rounded down."""
    if not per_major_unit or spent_minor <= 0:
        return 0
    major = Decimal(spent_minor) / (Decimal(10) ** minor_units(currency))
    return int((major * per_major_unit).to_integral_value(rounding=ROUND_FLOOR))


# ---- points --------------------------------------------------------------------------------------------


def points_expire_on(earned_on: date, expiry_months: int | None) -> date | None:
    """The day points earned on ``earned_on`` expire (None: never)."""
    return add_months(earned_on, expiry_months) if expiry_months else None


def expiring_points(earned_expired_by: int, debited_so_far: int) -> int:
    """Points to expire now, oldest first: what was earned in lots that have expired, less every point
    already taken out (redeemed, expired, reversed), never negative. Redemptions use the oldest points
    first, so this is exactly the unused part of the expired lots."""
    return max(0, earned_expired_by - debited_so_far)


def check_redeemable(balance: int, points: int) -> None:
    """Refuse (409) redeeming more points than the balance holds."""
    if points <= 0:
        raise RuleViolation("points_invalid", "redeem at least one point", field="points")
    if points > balance:
        raise Conflict(
            "points_insufficient", f"the balance is {balance} points, less than the {points} asked for"
        )


def points_value_minor(points: int, point_value_minor: Decimal, currency: str) -> int:
    """What ``points`` are worth in ``currency`` minor units (``point_value_minor`` each), rounded once,
    half up."""
    major = Decimal(points) * point_value_minor / (Decimal(10) ** minor_units(currency))
    return round_minor(major, currency)


def loyalty_credit_entry(customer_id: str, currency: str, amount_minor: int) -> list[Posting]:
    """Wallet credit given for loyalty (an award or redeemed points): a marketing expense, the customer's
    wallet balance (a liability) up."""
    return check_balanced(
        p
        for p in (
            side(MARKETING_EXPENSE, amount_minor, currency, debit=True),
            side(WALLET, amount_minor, currency, debit=False, customer_id=customer_id),
        )
        if p is not None
    )


def loyalty_voucher_entry(currency: str, amount_minor: int) -> list[Posting]:
    """A voucher given for loyalty: a marketing expense against the voucher clearing account, which the
    voucher's redemption (a ``cash:voucher`` top-up) later settles."""
    return check_balanced(
        p
        for p in (
            side(MARKETING_EXPENSE, amount_minor, currency, debit=True),
            side(VOUCHER_CLEARING, amount_minor, currency, debit=False),
        )
        if p is not None
    )
