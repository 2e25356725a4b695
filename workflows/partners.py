"""Partner memberships: PartnerSignUp waits for a subscriber to complete a provider's sign-up.

Onboarding starts one PartnerSignUp per membership (a child it does not wait for). It polls the provider
on a durable timer (every ``poll_seconds``) and also wakes on the ``signed_up`` signal (a provider's
callback, or staff); an ACTIVE member makes the membership active. When the sign-up link has expired
(``valid_for_seconds`` after the start) without a sign-up, the membership fails with the reason.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.partners.io import (
        FailMembership,
        MembershipRef,
        MembershipState,
        PartnerActivities,
        StartMemberships,
    )
    from domain import process_ids
    from domain.process_ids import ProcessLabels
    from workflows.common import DB_RETRY, NextStep, ShowsStep, start_child

POLL_RETRY = DB_RETRY
START_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1), maximum_attempts=5
)


class SignUpInput(BaseModel):
    partner_subscription_id: str
    organisation_id: str
    account_id: str
    subscription_id: str
    provider: str
    valid_for_seconds: int
    poll_seconds: int = 600


class SignUpResult(BaseModel):
    partner_subscription_id: str
    status: str
    reason: str | None = None


class SignUpStatus(BaseModel):
    process: str = "PartnerSignUp"
    step: str
    partner_subscription_id: str
    polls: int
    next: list[NextStep]


@workflow.defn(name="PartnerSignUp")
class PartnerSignUpWorkflow(ShowsStep):
    def __init__(self) -> None:
        self._step = "starting"
        self._psub = ""
        self._signalled = False
        self._polls = 0
        self._next: list[NextStep] = []

    @workflow.run
    async def run(self, request: SignUpInput) -> SignUpResult:
        self._psub = request.partner_subscription_id
        self._describe(
            f"{request.provider} sign-up of account {request.account_id} ({request.partner_subscription_id})"
        )
        deadline = workflow.now() + timedelta(seconds=request.valid_for_seconds)
        ref = MembershipRef(partner_subscription_id=request.partner_subscription_id)
        while True:
            self._step = "checking"
            self._signalled = False  # a signal from now on wakes the next wait
            state = await workflow.execute_activity_method(
                PartnerActivities.check_membership,
                ref,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=POLL_RETRY,
            )
            self._polls += 1
            if state.status != "pending_signup":
                self._step = state.status
                self._next = []
                return SignUpResult(
                    partner_subscription_id=self._psub, status=state.status, reason=state.reason
                )
            now = workflow.now()
            if now >= deadline:
                break
            wait = min(timedelta(seconds=request.poll_seconds), deadline - now)
            self._next = [NextStep(at=now + wait, what="ask the provider whether the subscriber signed up")]
            self._step = "waiting for the subscriber's sign-up"
            with contextlib.suppress(TimeoutError):  # the poll timer fired
                await workflow.wait_condition(lambda: self._signalled, timeout=wait)
        reason = f"the {request.provider} sign-up link expired before the subscriber completed it"
        self._step = "failing"
        state = await workflow.execute_activity_method(
            PartnerActivities.fail_membership,
            FailMembership(partner_subscription_id=self._psub, reason=reason),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY,
        )
        self._step = state.status
        self._next = []
        return SignUpResult(partner_subscription_id=self._psub, status=state.status, reason=state.reason)

    @workflow.signal(name="signed_up")
    def signed_up(self) -> None:
        """The subscriber says (or the provider calls back) the sign-up is done: check at once."""
        self._signalled = True

    @workflow.query(name="status")
    def status(self) -> SignUpStatus:
        return SignUpStatus(
            step=self._step, partner_subscription_id=self._psub, polls=self._polls, next=self._next
        )


async def start_memberships(subscription_id: str, process_id: str, service_ids: list[str]) -> None:
    """Create the partner subscribers of these lines (the sign-up links go to the subscriber as events)
    and start a PartnerSignUp per membership, not waited for: a sign-up never holds the caller up. A
    provider that stays unreachable is logged; the caller goes on."""
    request = StartMemberships(
        subscription_id=subscription_id, process_id=process_id, service_ids=service_ids
    )
    try:
        states = await workflow.execute_activity_method(
            PartnerActivities.start_memberships,
            request,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=START_RETRY,
        )
    except ActivityError as err:
        workflow.logger.warning("partner sign-up for %s failed: %s", subscription_id, err)
        return
    for state in states:
        if state.status == "pending_signup" and state.signup_url is not None:
            await start_signup(state)


async def start_signup(state: MembershipState) -> None:
    await start_child(
        PartnerSignUpWorkflow.run,
        SignUpInput(
            partner_subscription_id=state.partner_subscription_id,
            organisation_id=state.organisation_id,
            account_id=state.account_id,
            subscription_id=state.subscription_id,
            provider=state.provider,
            valid_for_seconds=state.valid_for_seconds,
        ),
        id=process_ids.partner_signup(state.partner_subscription_id),
        labels=ProcessLabels(
            process="PartnerSignUp",
            summary=f"{state.provider} sign-up of account {state.account_id}",
            organisation_id=state.organisation_id,
            account_id=state.account_id,
            subscription_id=state.subscription_id,
        ),
    )
