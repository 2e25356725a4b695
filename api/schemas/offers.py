"""Response bodies of the offers endpoints (requests: activities/offers/catalogue.py, redemptions.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class OfferOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    object: Literal["offer"] = "offer"
    id: str
    code: str
    name: str
    kind: str
    status: str
    currency: str
    plan_code: str | None
    percent: Decimal | None
    amount_minor: int | None
    periods: int | None
    value_minor: int | None
    segment_ids: list[str]
    channels: list[str]
    grant_only: bool
    starts_on: date
    ends_on: date | None
    total_cap: int | None
    per_account_cap: int | None
    stacking: str
    stack_group: str | None
    redeemed_count: int
    estimated_cost_minor: int
    cost_to_date_minor: int
    created_at: datetime
    updated_at: datetime


class OfferDetail(OfferOut):
    """An offer with what it cost so far: redemptions counted by status, the estimated total."""

    redemptions: dict[str, int]
    estimated_total_cost_minor: int


class RedemptionOut(BaseModel):
    object: Literal["offer_redemption"] = "offer_redemption"
    id: str
    offer_id: str
    offer_code: str
    account_id: str
    subscription_id: str | None
    channel: str
    status: str
    accepted_on: date
    terms: dict[str, Any]
    cost_minor: int
    process_id: str | None
    wallet_transaction_id: str | None
    voucher_id: str | None


class AcceptOut(RedemptionOut):
    voucher_code: str | None = None
    """A voucher offer's code: in the first answer only (a replay answers null)."""


class EligibleOffers(BaseModel):
    object: Literal["list"] = "list"
    account_id: str
    channel: str
    data: list[OfferOut]
