"""Operator repairs of provisioning: ProvisioningRetry re-runs a failed order, ProvisioningResync brings
the platforms in line with what should be live. One process per request (its id derived from the request's
Idempotency-Key): a retried request joins it instead of ordering again. The operator waits for the
outcome, so the adapters' own failures are outcomes, never retried here."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.provisioning.io import OrderRetried, OrderRetry, RepairActivities, Resync, ResyncReport
    from workflows.common import ONCE, show_details


@workflow.defn(name="ProvisioningRetry")
class ProvisioningRetryWorkflow:
    """Re-run one failed provisioning order through the adapters."""

    @workflow.run
    async def run(self, request: OrderRetry) -> OrderRetried:
        show_details(f"Retry of provisioning order {request.order_id}", "re-running the order")
        return await workflow.execute_activity_method(
            RepairActivities.retry,
            request,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=ONCE,
        )


@workflow.defn(name="ProvisioningResync")
class ProvisioningResyncWorkflow:
    """Compare the platforms with what should be live and order what closes the gap."""

    @workflow.run
    async def run(self, request: Resync) -> ResyncReport:
        show_details(f"Resync of {request.principal.organisation_id}'s services", "comparing platforms")
        return await workflow.execute_activity_method(
            RepairActivities.resync,
            request,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=ONCE,
        )
