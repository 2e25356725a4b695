"""NetflixChargeAcceptance: accept or decline an operator's charges at one partner provider, bill the
accepted ones exactly once, and tell the provider.

Generic over providers (Netflix is the first, hence the name): a pull provider's pending charges are
fetched and stored first (a push provider's arrive through the webhook route, stored already). Then, in
pages, each received charge is decided and its billing recorded in the same transaction (a pending charge
on the next invoice, a wallet debit for prepaid accounts, nothing when the bundle's price includes it);
then the decisions go to the provider in batches of at most its ``max_batch`` and are stamped reported.
A worker dying between deciding and reporting loses nothing: the decided, unreported charges are reported
again (the provider answers ``ALREADY_PROCESSED`` for those it has), and nothing is billed twice.

A Temporal Schedule per operator and provider starts it (runtime/schedules.py), staff start it at once
(``POST /v1/partner-charges/runs``), and the webhook of a push provider starts it or, while it runs,
signals ``charges_received`` so it takes another round. Its steps and counts show in the Temporal UI.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.partner_charges.io import (
        AcceptanceInput,
        AcceptanceResult,
        DecideInput,
        PartnerChargeActivities,
        ProviderInput,
        ReportInput,
    )
    from workflows.common import DB_RETRY, ShowsStep

PROCESS = "NetflixChargeAcceptance"
SIGNAL = "charges_received"
# A provider slow or down: 2 s doubling to 2 min, 8 attempts (about 6 minutes); the next run retries.
PARTNER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=2), maximum_attempts=8
)
PARTNER_STEP = timedelta(minutes=10)
PARTNER_HEARTBEAT = timedelta(seconds=30)
DB_STEP = timedelta(minutes=2)
MAX_PAGES = 1000


class AcceptanceStatus(BaseModel):
    """The ``status`` query: the current step and the counts so far."""

    process: str = PROCESS
    step: str
    counts: AcceptanceResult
    errors: list[str]


def _cause(err: ActivityError) -> str:
    return err.cause.message if isinstance(err.cause, ApplicationError) else str(err.cause or err)


@workflow.defn(name=PROCESS)
class NetflixChargeAcceptanceWorkflow(ShowsStep):
    def __init__(self) -> None:
        self._step = "starting"
        self._again = False
        self._counts: AcceptanceResult | None = None
        self._errors: list[str] = []

    @workflow.run
    async def run(self, request: AcceptanceInput) -> AcceptanceResult:
        self._describe(f"Charges of {request.provider} for {request.organisation_id}")
        counts = AcceptanceResult(organisation_id=request.organisation_id, provider=request.provider)
        self._counts = counts
        for _ in range(request.max_rounds):
            self._again = False
            counts.rounds += 1
            await self._fetch(request, counts)
            await self._decide(request, counts)
            await self._report(request, counts)
            self._step = self._summary(counts)
            if not self._again:
                break
        if self._errors:
            raise ApplicationError(
                f"{self._summary(counts)}; {'; '.join(self._errors)} (decisions are kept and reported on "
                "the next run)",
                type="PartnerChargesIncomplete",
                non_retryable=True,
            )
        return counts

    @staticmethod
    def _summary(counts: AcceptanceResult) -> str:
        return (
            f"done: {counts.fetched} fetched ({counts.repeats} repeats), {counts.accepted} accepted, "
            f"{counts.declined} declined, {counts.reported} reported, {counts.failed} failed"
        )

    async def _fetch(self, request: AcceptanceInput, counts: AcceptanceResult) -> None:
        self._step = "fetching pending charges"
        try:
            fetched = await workflow.execute_activity_method(
                PartnerChargeActivities.fetch,
                ProviderInput(organisation_id=request.organisation_id, provider=request.provider),
                start_to_close_timeout=PARTNER_STEP,
                heartbeat_timeout=PARTNER_HEARTBEAT,
                retry_policy=PARTNER_RETRY,
            )
        except ActivityError as err:
            self._errors.append(f"fetching failed: {_cause(err)}")
            return
        counts.fetched += fetched.new
        counts.repeats += fetched.repeats
        counts.declined += fetched.declined_on_arrival

    async def _decide(self, request: AcceptanceInput, counts: AcceptanceResult) -> None:
        for page in range(MAX_PAGES):
            self._step = f"deciding (page {page + 1}: {counts.accepted} accepted, {counts.declined} declined)"
            decided = await workflow.execute_activity_method(
                PartnerChargeActivities.decide,
                DecideInput(
                    organisation_id=request.organisation_id,
                    provider=request.provider,
                    at=workflow.now(),
                    limit=request.decide_page,
                ),
                start_to_close_timeout=DB_STEP,
                retry_policy=DB_RETRY,
            )
            counts.accepted += decided.accepted
            counts.declined += decided.declined
            if not decided.more:
                return

    async def _report(self, request: AcceptanceInput, counts: AcceptanceResult) -> None:
        self._step = f"reporting {counts.accepted} accepted, {counts.declined} declined"
        try:
            reported = await workflow.execute_activity_method(
                PartnerChargeActivities.report,
                ReportInput(
                    organisation_id=request.organisation_id, provider=request.provider, at=workflow.now()
                ),
                start_to_close_timeout=PARTNER_STEP,
                heartbeat_timeout=PARTNER_HEARTBEAT,
                retry_policy=PARTNER_RETRY,
            )
        except ActivityError as err:
            self._errors.append(f"reporting failed: {_cause(err)}")
            return
        counts.reported += reported.reported
        counts.failed += reported.failed

    @workflow.signal(name=SIGNAL)
    def charges_received(self) -> None:
        """A push provider sent charges (stored already): take another round after this one."""
        self._again = True

    @workflow.query(name="status")
    def status(self) -> AcceptanceStatus:
        counts = self._counts or AcceptanceResult(organisation_id="", provider="")
        return AcceptanceStatus(step=self._step, counts=counts, errors=list(self._errors))
