"""The Temporal activity that rates accepted usage in pages: the BillingCycle runs it before invoicing."""

from __future__ import annotations

from temporalio import activity

from activities.usage import io
from activities.usage.io import RateUsageInput, RateUsageResult
from activities.usage.rating import rate_pending
from models.base import unit_of_work
from runtime.settings import Settings


class UsageActivities(io.UsageActivities):
    """Usage rating, bound to the database (sync: the worker runs it on its thread pool)."""

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
