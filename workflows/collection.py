"""Collection: after a bill run, charge the due invoices of auto-collecting accounts in batches.

One activity per batch (never a workflow per invoice), heartbeating four times per heartbeat timeout
(``heartbeat_seconds``) so a batch (or the planning) whose worker died is retried within it; each failed
collection starts the Dunning workflow for its invoice (id ``dunning-<invoice id>``, abandoned when
this one closes). The batches are the due invoices found when it starts, not what a bill
run reported.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.payments.io import (
        CollectBatch,
        CollectionInput,
        CollectResult,
        PaymentActivities,
    )
    from workflows.common import BATCH_RETRY, show_details
    from workflows.dunning import start_dunning

FAILED = ("declined", "failed")
PLAN_HEARTBEATS = "plan-collection-heartbeats"  # before: planning had no heartbeat timeout (5 min to notice)


class CollectionSummary(BaseModel):
    batches: int = 0
    invoices: int = 0
    counts: dict[str, int] = Field(default_factory=dict)
    dunning_started: list[str] = Field(default_factory=list)


@workflow.defn(name="Collection")
class CollectionWorkflow:
    def __init__(self) -> None:
        self._summary = CollectionSummary()

    @workflow.run
    async def run(self, run: CollectionInput) -> CollectionSummary:
        show_details(f"Collection of bill run {run.billing_run_id or 'all due'}", "collecting")
        beats = workflow.patched(PLAN_HEARTBEATS)
        batches = await workflow.execute_activity_method(
            PaymentActivities.plan_collection,
            run,
            start_to_close_timeout=timedelta(minutes=5),
            heartbeat_timeout=timedelta(seconds=run.heartbeat_seconds) if beats else None,
            retry_policy=BATCH_RETRY,
        )
        self._summary.batches = len(batches)
        for batch in batches:
            results = await self._collect(batch, run.heartbeat_seconds)
            for result in results:
                self._count(result)
                if result.status in FAILED:
                    await self._start_dunning(result)
        return self._summary

    async def _collect(self, batch: CollectBatch, heartbeat_seconds: int) -> list[CollectResult]:
        return await workflow.execute_activity_method(
            PaymentActivities.collect_batch,
            batch,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(seconds=heartbeat_seconds),
            retry_policy=BATCH_RETRY,
        )

    def _count(self, result: CollectResult) -> None:
        summary = self._summary
        summary.invoices += 1
        summary.counts[result.status] = summary.counts.get(result.status, 0) + 1

    async def _start_dunning(self, result: CollectResult) -> None:
        try:
            await start_dunning(result.invoice_id, result.account_id or "", result.organisation_id or "")
        except WorkflowAlreadyStartedError:
            return  # this invoice is already in dunning
        self._summary.dunning_started.append(result.invoice_id)

    @workflow.query(name="status")
    def status(self) -> CollectionSummary:
        return self._summary
