"""Catalogue and quote request/response schemas (the definitions themselves live in domain/catalog.py)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from activities.catalog.quotes import QuoteItemIn, QuoteRequest
from api.schemas.common import IsoDateTime
from domain.catalog import BundleSpec, PlanSpec, PriceListSpec, ProductSpec

__all__ = [
    "BundleOut",
    "PlanCreate",
    "PlanOut",
    "PlanVersionCreate",
    "PlanVersions",
    "PriceListOut",
    "ProductOut",
    "QuoteItemIn",
    "QuoteOut",
    "QuoteRequest",
    "TaxRateOut",
]


class PlanCreate(PlanSpec):
    effective_from: date | None = Field(default=None, description="First day on sale; default today (UTC)")


class PlanVersionCreate(PlanSpec):
    effective_from: date = Field(description="The new version is sold from this date")
    existing_subscribers_until: date | None = Field(
        default=None,
        description="Subscribers of earlier versions keep their price until this date (grandfathering)",
    )


# Answers. A catalogue row is sent as stored: its id and kind, the definition's fields, its creation time.
# These models describe that shape (OpenAPI); the routes render the rows themselves.


class ProductOut(ProductSpec):
    id: str
    object: Literal["product"] = "product"
    created_at: IsoDateTime


class PlanOut(PlanSpec):
    id: str
    object: Literal["plan"] = "plan"
    version: int
    effective_from: date
    existing_subscribers_until: date | None
    created_at: IsoDateTime


class PlanVersions(BaseModel):
    code: str
    object: Literal["plan_versions"] = "plan_versions"
    versions: list[PlanOut] = Field(description="Oldest first")


class BundleOut(BundleSpec):
    id: str
    object: Literal["bundle"] = "bundle"
    created_at: IsoDateTime


class PriceListOut(PriceListSpec):
    id: str
    object: Literal["price_list"] = "price_list"
    created_at: IsoDateTime


class TaxRateOut(BaseModel):
    id: str
    object: Literal["tax_rate"] = "tax_rate"
    country: str
    region: str | None
    category: str
    percent: str = Field(description="0 to 100, as a decimal string")
    name: str


class MoneyOut(BaseModel):
    amount_minor: int
    amount: str = Field(description="In major units, as a decimal string")
    currency: str


class QuoteRateOut(BaseModel):
    code: str
    percent: str


class QuoteLine(BaseModel):
    kind: str
    plan: str | None
    description: str
    period_start: date | None
    period_end: date | None
    service_start: date | None
    service_end: date | None
    starts_at: IsoDateTime | None = Field(description="Midnight of service_start in the account's time zone")
    quantity: str
    unit_price: str
    amount: MoneyOut
    tax_rate: QuoteRateOut
    net: MoneyOut
    tax: MoneyOut
    gross: MoneyOut


class QuoteTax(BaseModel):
    code: str
    percent: str
    net: MoneyOut
    tax: MoneyOut
    reason: str | None


class QuoteTotals(BaseModel):
    net: MoneyOut
    tax: MoneyOut
    gross: MoneyOut


class QuoteOut(BaseModel):
    object: Literal["quote"] = "quote"
    currency: str
    country: str | None
    timezone: str
    tax_inclusive: bool
    tax_status: str
    lines: list[QuoteLine]
    taxes: list[QuoteTax]
    totals: QuoteTotals
