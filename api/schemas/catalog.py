"""Catalogue and quote request/response schemas (the definitions themselves live in domain/catalog.py)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from activities.catalog.quotes import QuoteItemIn, QuoteRequest
from domain.catalog import PlanSpec

__all__ = ["PlanCreate", "PlanVersionCreate", "QuoteItemIn", "QuoteRequest"]


class PlanCreate(PlanSpec):
    effective_from: date | None = Field(default=None, description="First day on sale; default today (UTC)")


class PlanVersionCreate(PlanSpec):
    effective_from: date = Field(description="The new version is sold from this date")
    existing_subscribers_until: date | None = Field(
        default=None,
        description="Subscribers of earlier versions keep their price until this date (grandfathering)",
    )
