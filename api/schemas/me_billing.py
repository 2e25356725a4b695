"""Request and response schemas of the subscriber's own API (/v1/me/…): account, subscriptions, plan
changes, catalogue, paying and top-ups."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.accounts import Address, Contact
from api.schemas.common import Language, LongText, Phone, PositiveAmountMinor, Strict, Text
from api.schemas.subscriptions import SubscriptionDetail
from domain.catalog import Code


class MeAccountUpdate(Strict):
    """What a subscriber may change on their own account: contact details only."""

    display_name: LongText | None = None
    given_name: Text | None = None
    family_name: Text | None = None
    phone: Phone | None = None
    language: Language | None = None
    addresses: list[Address] | None = Field(default=None, max_length=10)
    contacts: list[Contact] | None = Field(default=None, max_length=20)


class MeChange(Strict):
    """Another base plan (upgrades at once, downgrades at the end of the term, as the plan says), or an
    add-on bought or cancelled."""

    type: Literal["change_plan", "add_addon", "remove_addon"]
    plan: Code | None = Field(default=None, description="The new base plan, or the add-on to buy")
    service_id: str | None = Field(
        default=None, max_length=40, description="The add-on service to cancel (remove_addon)"
    )


class MeSubscribe(Strict):
    """Subscribe to a plan (with add-ons) from today, for an account with no live subscription."""

    plan: Code
    addons: list[Code] = Field(default_factory=list, max_length=20)
    account_id: str | None = Field(default=None, max_length=40, description="Default: your own account")


class Money(BaseModel):
    amount_minor: int
    amount: str
    currency: str


class ChangeQuoteLine(BaseModel):
    kind: str
    description: str
    period_start: str | None
    period_end: str | None
    amount: Money


class ChangeQuote(BaseModel):
    object: Literal["change_quote"] = "change_quote"
    subscription_id: str
    type: str
    plan: str | None
    service_id: str | None
    timing: str
    effective_on: str
    new_price: Money | None
    lines: list[ChangeQuoteLine]
    total_net: Money


class CataloguePlan(BaseModel):
    code: str
    name: str
    role: str
    version: int
    billing_period: str
    billing_interval: int
    billing_term: str
    price: Money
    addons: list[dict[str, str]]


class Catalogue(BaseModel):
    object: Literal["catalogue"] = "catalogue"
    currency: str
    on: str
    plans: list[CataloguePlan]


class InvoicePaymentIn(Strict):
    """Pay an invoice: by card (Stripe.js confirms the PaymentIntent in the browser), by the account's
    SEPA mandate, or by mobile money (a push to the phone)."""

    method: Literal["card", "sepa_debit", "mobile_money"] = Field(
        default="card", description="sepa_debit and mobile_money use the account's mandate or saved number"
    )


class PaymentConfirmIn(Strict):
    payment_method_token: str | None = Field(
        default=None, max_length=200, description="The pm_… Stripe.js made of the card (never its number)"
    )


class PaymentStarted(BaseModel):
    object: Literal["payment"] = "payment"
    payment_id: str
    invoice_id: str | None
    status: str
    amount_minor: int
    currency: str
    method: str = "card"
    client_secret: str | None = Field(default=None, description="card: confirm it with Stripe.js")
    publishable_key: str | None = None
    stripe_js_url: str | None = None
    decline_code: str | None = None
    message: str | None = None


class MeTopUpIn(Strict):
    """A card top-up: the card as Stripe.js tokenised it (``pm_…``) or a saved payment method's id."""

    amount_minor: PositiveAmountMinor
    payment_method_token: str | None = Field(default=None, max_length=200)
    payment_method_id: str | None = Field(default=None, max_length=40)


class SetupIntentOut(BaseModel):
    object: Literal["setup_intent"] = "setup_intent"
    id: str
    client_secret: str
    publishable_key: str | None
    stripe_js_url: str | None


class MeDevice(BaseModel):
    id: str
    product_code: str
    serial: str
    state: str
    service_line_id: str | None
    msisdn: str | None


class MeSubscriptionDetail(SubscriptionDetail):
    """A subscription with its services (base plans and add-ons) and the devices it holds."""

    devices: list[MeDevice]
