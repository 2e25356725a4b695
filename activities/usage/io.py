"""Usage rating as the BillingCycle workflow calls it, and its input and output (no SQLAlchemy here)."""

from __future__ import annotations

from pydantic import BaseModel, Field
from temporalio import activity

RATING_PAGE = 5_000


class RateUsageInput(BaseModel):
    """One page of accepted usage events to rate."""

    organisation_id: str | None = Field(default=None, description="Only this organisation's subtree")
    limit: int = Field(default=RATING_PAGE, ge=1, le=50_000)


class RateUsageResult(BaseModel):
    """What a page rated: events picked, rated and sent to suspense."""

    picked: int
    rated: int
    suspense: int
    subscriptions: int = Field(description="A page shorter than the limit means the queue is empty")


class UsageActivities:
    """Usage rating as workflows call it (implemented in activities/usage/activities.py)."""

    @activity.defn(name="rate_usage_batch")
    def rate_usage_batch(self, request: RateUsageInput) -> RateUsageResult:
        """Rate one page of accepted events in one transaction; safe to retry (locked rows, unique rows)."""
        raise NotImplementedError
