"""Request and response schemas for payment methods, payments, refunds and collection."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Currency, CurrencyBoundAmounts, PositiveAmountMinor, Strict
from domain.dunning import Step


class CardMethodCreate(Strict):
    kind: Literal["card"] = "card"
    gateway: str = Field(default="stripe", max_length=64)
    token: str = Field(
        min_length=3,
        max_length=255,
        description="the gateway's token from its client library (pm_…); never a card number",
    )
    default: bool = True
    auto_collect: bool | None = Field(
        default=None, description="turn auto-collection on or off for the account"
    )


class MobileMoneyMethodCreate(Strict):
    kind: Literal["mobile_money"]
    msisdn: str = Field(
        min_length=9, max_length=16, pattern=r"^\+[1-9][0-9]{7,14}$", description="the phone, in E.164"
    )
    default: bool = True
    auto_collect: bool | None = Field(
        default=None, description="turn auto-collection on or off for the account"
    )


class CashMethodCreate(Strict):
    kind: Literal["cash"]
    default: bool = False


class PaymentMethodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    account_id: str
    kind: str
    gateway: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None
    mandate_reference: str | None
    mandate_signed_on: date | None
    iban_masked: str | None
    is_default: bool
    created_at: datetime


class PaymentCreate(Strict, CurrencyBoundAmounts):
    account_id: str = Field(max_length=40)
    amount_minor: PositiveAmountMinor
    currency: Currency
    method: Literal["cash", "bank_transfer"] = "cash"
    allocation: Literal["oldest", "chosen"] = "oldest"
    invoice_ids: list[str] | None = Field(default=None, max_length=200)
    reference: str | None = Field(default=None, max_length=140, description="bank transfer reference")


class AllocationOut(BaseModel):
    invoice_id: str
    amount_minor: int
    reversed_minor: int


class PaymentOut(BaseModel):
    id: str
    account_id: str
    kind: str
    amount_minor: int
    currency: str
    status: str
    gateway: str
    gateway_reference: str | None
    attempt: int
    invoice_id: str | None
    decline_code: str | None
    refunded_minor: int
    unallocated_minor: int
    receipt_number: str | None
    received_by: str | None
    allocations: list[AllocationOut]
    created_at: datetime


class RefundCreate(Strict):
    amount_minor: PositiveAmountMinor
    reason: str | None = Field(default=None, max_length=300)


class RefundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    payment_id: str
    amount_minor: int
    currency: str
    status: str
    reason: str | None
    gateway_reference: str | None
    created_at: datetime


class CollectOut(BaseModel):
    invoice_id: str
    status: str
    payment_id: str | None
    decline_code: str | None
    attempt: int


class StripeEventOut(BaseModel):
    received: Literal[True] = True
    event_id: str
    outcome: str = Field(description="What the event did: settled, duplicate, ignored…")


class GatewayEventOut(BaseModel):
    received: Literal[True] = True
    event_id: str
    outcome: str = Field(description="What the event did: settled, failed, duplicate, ignored…")


class LadderOut(BaseModel):
    object: Literal["dunning_ladder"] = "dunning_ladder"
    default: bool = Field(description="True while the operator has set no ladder of its own")
    steps: list[Step]
