"""The offers area's Temporal activities: each one transaction (sync: thread pool)."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from activities.offers import grants, io
from activities.offers.io import GrantInput, GrantResult
from models.base import unit_of_work
from runtime.settings import Settings


class OfferActivities(io.OfferActivities):
    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: offer activities need the database")
        self.url = settings.database_url

    @activity.defn(name="grant_offer")
    def grant_offer(self, request: GrantInput) -> GrantResult:
        """Make the account eligible for the offer (a loyalty award that is an offer); once per key."""
        with unit_of_work(self.url) as session:
            grant_id = grants.grant_offer(
                session,
                request.organisation_id,
                request.offer_code,
                request.account_id,
                request.idempotency_key,
            )
        return GrantResult(grant_id=grant_id)

    def all(self) -> list[Any]:
        return [self.grant_offer]
