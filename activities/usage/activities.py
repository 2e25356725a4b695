"""The Temporal activity that rates accepted usage in pages: the BillingCycle runs it before invoicing."""

from __future__ import annotations

from pydantic import BaseModel, Field
from temporalio import activity

from activities.usage.rating import rate_pending
from models.base import unit_of_work
from runtime.settings import Settings

RATING_PAGE = 5_000


class RateUsageInput(BaseModel):
    organisation_id: str | None = Field(default=None, description="Only this organisation's subtree")
    limit: int = Field(default=RATING_PAGE, ge=1, le=50_000)


class RateUsageResult(BaseModel):
    picked: int
    rated: int
    suspense: int
    subscriptions: int = Field(description="A page shorter than the limit means the queue is empty")


class UsageActivities:
    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise ValueError("usage rating needs DATABASE_URL")
        self.database_url = settings.database_url

    @activity.defn(name="rate_usage_batch")
    def rate_usage_batch(self, request: RateUsageInput) -> RateUsageResult:
        """Rate one page of accepted events in one transaction; safe to retry (locked rows, unique rows)."""
        with unit_of_work(self.database_url) as session:
            totals = rate_pending(session, organisation_id=request.organisation_id, limit=request.limit)
        return RateUsageResult(**totals)
