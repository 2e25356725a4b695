"""The AccountVerification workflow's activities as it calls them, and their inputs and outputs (no
SQLAlchemy here)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from temporalio import activity

Outcome = Literal["verified", "unverified"]


class SendVerificationEmail(BaseModel):
    """The verification email to send for one process run."""

    account_id: str
    email: str
    display_name: str
    language: str = "en"
    process_id: str
    run_id: str


class VerificationEmailSent(BaseModel):
    """The Message-ID of the email sent."""

    account_id: str
    message_id: str


class RecordVerificationOutcome(BaseModel):
    """Whether the subscriber confirmed the address before the process ended."""

    account_id: str
    outcome: Outcome
    decided_at: datetime
    process_id: str


class VerificationOutcomeRecorded(BaseModel):
    """The account's verification status after recording the outcome."""

    account_id: str
    verification_status: str
    verified_at: datetime | None
    changed: bool


class VerificationActivities:
    """Account verification's activities as workflows call them (implemented in activities.py)."""

    @activity.defn(name="send_verification_email")
    def send_verification_email(self, request: SendVerificationEmail) -> VerificationEmailSent:
        """Email the subscriber the signed link that confirms the address."""
        raise NotImplementedError

    @activity.defn(name="record_verification_outcome")
    def record_verification_outcome(self, request: RecordVerificationOutcome) -> VerificationOutcomeRecorded:
        """Set the account's verification status in one transaction; a verified account stays verified."""
        raise NotImplementedError
