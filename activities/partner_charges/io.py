"""Partner charge acceptance's activities as workflows call them, and their inputs and outputs (no
SQLAlchemy here)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from temporalio import activity


class AcceptanceInput(BaseModel):
    """Accept or decline an operator's charges at one provider (pulled ones are fetched first)."""

    organisation_id: str
    provider: str
    decide_page: int = Field(default=200, ge=1, le=5000)
    max_rounds: int = Field(default=20, ge=1, description="rounds (signals of pushed charges) per run")


class ProviderInput(BaseModel):
    organisation_id: str
    provider: str


class Fetched(BaseModel):
    """Pending charges listed by a pull provider and stored: ``new`` rows, ``repeats`` of known ones,
    ``declined_on_arrival`` (malformed: declined as they were stored)."""

    listed: int = 0
    new: int = 0
    repeats: int = 0
    declined_on_arrival: int = 0


class DecideInput(BaseModel):
    """Decide up to ``limit`` received charges at the workflow's time ``at``."""

    organisation_id: str
    provider: str
    at: datetime
    limit: int = 200


class Decided(BaseModel):
    """What one page of decisions did; ``more``: received charges are left."""

    accepted: int = 0
    declined: int = 0
    billed_minor: int = 0
    more: bool = False


class ReportInput(BaseModel):
    """Report every decided, unreported charge to the provider, stamped at the workflow's time ``at``."""

    organisation_id: str
    provider: str
    at: datetime


class Reported(BaseModel):
    """Decisions the provider took (``reported``; ``already`` of them it had), refused (``failed``:
    kept on the charge), in how many calls."""

    reported: int = 0
    already: int = 0
    failed: int = 0
    calls: int = 0


class AcceptanceResult(BaseModel):
    """One run's counts (also its steps in the Temporal UI)."""

    organisation_id: str
    provider: str
    rounds: int = 0
    fetched: int = 0
    repeats: int = 0
    accepted: int = 0
    declined: int = 0
    reported: int = 0
    failed: int = 0


class PartnerChargeActivities:
    """Partner charge acceptance's activities (implemented in activities/partner_charges/activities.py)."""

    @activity.defn(name="fetch_partner_charges")
    def fetch(self, request: ProviderInput) -> Fetched:
        """List the provider's pending charges (pull providers) and store each once."""
        raise NotImplementedError

    @activity.defn(name="decide_partner_charges")
    def decide(self, request: DecideInput) -> Decided:
        """Decide a page of received charges; record each accepted one's billing in the same transaction."""
        raise NotImplementedError

    @activity.defn(name="report_partner_charges")
    def report(self, request: ReportInput) -> Reported:
        """Send the decided, unreported charges to the provider in batches; stamp what it took."""
        raise NotImplementedError
