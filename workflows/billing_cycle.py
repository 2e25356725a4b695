"""BillingCycle: bill every account due in a cycle, page by page (never a workflow per subscription).

Usage still waiting to be rated (accepted events of the organisation's subtree) is rated first, page
by page, so the invoices carry it. Pages run in parallel up to ``parallelism``; each is one idempotent
activity that heartbeats four times per heartbeat timeout (``heartbeat_seconds``), so a page whose
worker died is retried within that timeout. A failing account is reported with its reason and does not
stop the run. Collection follows every run that wrote invoices: it charges what is due (the run's open
invoices of accounts collecting automatically), whatever the pages reported.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.billing.io import (
        BillingActivities,
        Page,
        PageResult,
        RunInput,
        RunRowActivities,
        RunSummary,
        merge,
        pages_of,
    )
    from activities.payments.io import CollectionInput
    from activities.subscriptions.io import PrepaidActivities, SuspendInput
    from activities.usage.io import RATING_PAGE, RateUsageInput, UsageActivities
    from domain import process_ids
    from domain.process_ids import ProcessLabels
    from workflows.collection import CollectionWorkflow
    from workflows.common import PAGE_RETRY, ShowsStep, start_child
    from workflows.subscription_change import SubscriptionActionWorkflow

# before: the API wrote the row and open_run found it; a run of a cycle already running could not start
OPENS_ITS_ROW = "billing-opens-or-joins-its-row"
COLLECT_WHAT_IS_DUE = "collect-what-is-due"  # before: collection only when the pages reported invoices
# before: plan_billing_pages returned every Page with the run's input in each (~295 bytes a page: a run
# of ~7,000 pages, 3.5M accounts at page_size 500, passed Temporal's 2 MB payload limit); now ~30 a page
PAGE_ENDS = "billing-plans-page-ends"


class BillingStatus(BaseModel):
    process: str = "BillingCycle"
    step: str
    pages: int
    pages_done: int
    invoices: int
    failed: int


@workflow.defn(name="BillingCycle")
class BillingCycleWorkflow(ShowsStep):
    def __init__(self) -> None:
        self._step = "planning"
        self._pages = 0
        self._done: list[PageResult] = []

    @workflow.run
    async def run(self, run: RunInput) -> RunSummary:
        self._describe(f"Bill run {run.run_id or workflow.info().workflow_id} of cycle {run.bill_day}")
        if workflow.patched(OPENS_ITS_ROW):
            opened = await workflow.execute_activity_method(
                RunRowActivities.open_or_join,
                run,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=PAGE_RETRY,
            )
            if opened.joined_run_id is not None:
                self._step = "joined"
                return RunSummary(run=run, pages=0, result=PageResult(), status="joined")
            run = opened.run
        else:
            run = await workflow.execute_activity_method(
                BillingActivities.open_run,
                run,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=PAGE_RETRY,
            )
        if not run.dry_run and workflow.patched("billing-rates-usage-first"):
            await self._rate_usage(run)
        pages = await self._plan(run)
        self._pages = len(pages)
        self._step = "billing"
        gate = asyncio.Semaphore(max(1, run.parallelism))

        async def bill(page: Page) -> None:
            async with gate:
                result = await workflow.execute_activity_method(
                    BillingActivities.bill_page,
                    page,
                    start_to_close_timeout=timedelta(minutes=30),
                    heartbeat_timeout=timedelta(seconds=run.heartbeat_seconds),
                    retry_policy=PAGE_RETRY,
                )
                self._done.append(result)

        await asyncio.gather(*(bill(page) for page in pages))
        prepaid = {} if run.dry_run else await self._renew_prepaid(run)
        summary = RunSummary(
            run=run, pages=len(pages), result=merge(self._done), status="completed", prepaid=prepaid
        )
        self._step = "closing"
        await workflow.execute_activity_method(
            BillingActivities.finish_run,
            summary,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=PAGE_RETRY,
        )
        if workflow.patched(COLLECT_WHAT_IS_DUE):
            collect = CollectionInput(
                organisation_id=run.organisation_id,
                billing_run_id=run.run_id,
                heartbeat_seconds=run.heartbeat_seconds,
            )
            due = bool(run.run_id)  # the Collection charges what is due, even if a page reported nothing
        else:
            collect = CollectionInput(organisation_id=run.organisation_id, billing_run_id=run.run_id)
            due = bool(summary.result.invoices)
        if not run.dry_run and run.run_id and due:
            self._step = "collecting"
            await start_child(
                CollectionWorkflow.run,
                collect,
                id=process_ids.collection(run.run_id),
                labels=ProcessLabels(
                    process="Collection",
                    summary=f"Collection of bill run {run.run_id}",
                    organisation_id=run.organisation_id,
                    memo_extra={"billing_run_id": run.run_id},
                ),
            )
        self._step = "completed"
        return summary

    async def _plan(self, run: RunInput) -> list[Page]:
        """The run's pages, planned by one activity (heartbeating while the database numbers them)."""
        if workflow.patched(PAGE_ENDS):
            ends = await workflow.execute_activity_method(
                BillingActivities.plan_page_ends,
                run,
                start_to_close_timeout=timedelta(minutes=5),
                heartbeat_timeout=timedelta(seconds=run.heartbeat_seconds),
                retry_policy=PAGE_RETRY,
            )
            return pages_of(run, ends)
        planned: list[Page] = await workflow.execute_activity_method(
            BillingActivities.plan_pages,
            run,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=run.heartbeat_seconds),
            retry_policy=PAGE_RETRY,
        )
        return planned

    async def _rate_usage(self, run: RunInput) -> None:
        """Rate the subtree's accepted events, a page per activity, until a page comes back short."""
        self._step = "rating usage"
        while True:
            rated = await workflow.execute_activity_method(
                UsageActivities.rate_usage_batch,
                RateUsageInput(organisation_id=run.organisation_id, limit=RATING_PAGE),
                start_to_close_timeout=timedelta(minutes=10),
                retry_policy=PAGE_RETRY,
            )
            if rated.picked < RATING_PAGE:
                return

    async def _renew_prepaid(self, run: RunInput) -> dict[str, Any]:
        """Debit prepaid wallets for the period; suspend (as child processes) what they cannot pay."""
        self._step = "renewing prepaid"
        renewal = await workflow.execute_activity_method(
            PrepaidActivities.renew,
            run,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(seconds=run.heartbeat_seconds),
            retry_policy=PAGE_RETRY,
        )
        if renewal.unfunded:
            plans = await workflow.execute_activity_method(
                PrepaidActivities.plan_suspensions,
                SuspendInput(subscription_ids=renewal.unfunded, process_id=workflow.info().workflow_id),
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=PAGE_RETRY,
            )
            for plan in plans:
                await start_child(
                    SubscriptionActionWorkflow.run,
                    plan,
                    id=plan.process_id,
                    labels=ProcessLabels(
                        process=process_ids.action_process(plan.action),
                        summary=f"Suspension of prepaid subscription {plan.subscription_id} (unfunded)",
                        organisation_id=run.organisation_id,
                        subscription_id=plan.subscription_id,
                    ),
                )
        return {
            "debited": renewal.debited,
            "unfunded": len(renewal.unfunded),
            "amount_minor": renewal.amount_minor,
        }

    @workflow.query(name="status")
    def status(self) -> BillingStatus:
        total = merge(self._done)
        return BillingStatus(
            step=self._step,
            pages=self._pages,
            pages_done=len(self._done),
            invoices=total.invoices,
            failed=len(total.failed),
        )
