"""The offers area's activities as workflows call them (a loyalty award granting an offer), and their
inputs and outputs (no SQLAlchemy here)."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity


class GrantInput(BaseModel):
    """Grant the operator's offer ``offer_code`` to an account, once per ``idempotency_key``."""

    organisation_id: str
    offer_code: str
    account_id: str
    idempotency_key: str


class GrantResult(BaseModel):
    grant_id: str


class OfferActivities:
    """The offers area's activities (implemented in activities/offers/activities.py)."""

    @activity.defn(name="grant_offer")
    def grant_offer(self, request: GrantInput) -> GrantResult:
        """Make the account eligible for the offer (a loyalty award that is an offer); once per key."""
        raise NotImplementedError
