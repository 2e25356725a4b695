"""AccountVerification: email a signed link, wait for the subscriber to confirm, record the outcome."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.accounts.io import (
        Outcome,
        RecordVerificationOutcome,
        SendVerificationEmail,
        VerificationActivities,
    )
    from domain.verification import PROCESS
    from workflows.common import EMAIL_RETRY, STEP_RETRY, ShowsStep

Step = Literal[
    "starting", "sending_email", "awaiting_confirmation", "recording_outcome", "verified", "unverified"
]

_CONFIRMABLE: frozenset[str] = frozenset({"starting", "sending_email", "awaiting_confirmation"})


class VerificationInput(BaseModel):
    account_id: str
    organisation_id: str
    email: str
    display_name: str
    language: str = "en"
    wait_hours: int = Field(default=48, ge=1)


class ProcessStatus(BaseModel):
    process: str = PROCESS
    step: str
    account_id: str
    outcome: str | None = None


class VerificationResult(BaseModel):
    account_id: str
    outcome: Outcome


@workflow.defn(name=PROCESS)
class AccountVerificationWorkflow(ShowsStep):
    def __init__(self) -> None:
        self._step = "starting"
        self._account_id = ""
        self._outcome: Outcome | None = None
        self._confirmed_at: datetime | None = None

    @workflow.run
    async def run(self, request: VerificationInput) -> VerificationResult:
        self._account_id = request.account_id
        self._describe(f"Email verification of account {request.account_id}")
        window = timedelta(hours=request.wait_hours)
        self._step = "sending_email"
        email_sent = await self._send_email(request, window)
        if email_sent:
            self._step = "awaiting_confirmation"
            try:
                await workflow.wait_condition(lambda: self._confirmed_at is not None, timeout=window)
            except TimeoutError:
                workflow.logger.info("verification window of %s elapsed without confirmation", window)
        outcome: Outcome = "verified" if self._confirmed_at is not None else "unverified"
        self._step = "recording_outcome"
        await workflow.execute_activity_method(
            VerificationActivities.record_verification_outcome,
            RecordVerificationOutcome(
                account_id=request.account_id,
                outcome=outcome,
                decided_at=self._confirmed_at or workflow.now(),
                process_id=workflow.info().workflow_id,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=STEP_RETRY,
        )
        self._outcome = outcome
        self._step = outcome
        return VerificationResult(account_id=request.account_id, outcome=outcome)

    async def _send_email(self, request: VerificationInput, window: timedelta) -> bool:
        """Send the link, retrying for up to the verification window; False if it could not be sent."""
        info = workflow.info()
        try:
            await workflow.execute_activity_method(
                VerificationActivities.send_verification_email,
                SendVerificationEmail(
                    account_id=request.account_id,
                    email=request.email,
                    display_name=request.display_name,
                    language=request.language,
                    process_id=info.workflow_id,
                    run_id=info.run_id,
                ),
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=window,
                retry_policy=EMAIL_RETRY,
            )
        except ActivityError as err:
            workflow.logger.warning("verification email to account %s failed: %s", request.account_id, err)
            return False
        return True

    @workflow.signal(name="confirm")
    def confirm(self) -> None:
        """The subscriber opened the link (the API checked the token before signalling).

        Repeated confirmations are harmless; one arriving after the window has closed changes nothing.
        """
        if self._confirmed_at is None and self._step in _CONFIRMABLE:
            self._confirmed_at = workflow.now()

    @workflow.query(name="status")
    def status(self) -> ProcessStatus:
        return ProcessStatus(step=self._step, account_id=self._account_id, outcome=self._outcome)
