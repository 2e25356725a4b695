"""PlanChange and SubscriptionAction: one change to a subscription, now or at a scheduled date.

The API takes the subscription for the process before starting it (one process at a time per
subscription). A change at the end of the term is recorded as scheduled, the subscription is released,
and the process sleeps on a durable timer until the date (a ``cancel`` signal ends it); it then takes
the subscription again, applies the change and reprovisions.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.partners.io import EndMemberships, PartnerActivities, SyncMembershipPlans
    from activities.provisioning.io import OrderInput, ProvisioningActivities
    from activities.subscriptions.io import (
        Applied,
        ChangeActivities,
        ChangePlan,
        Notice,
        SubscriptionActivities,
    )
    from domain.provisioning import ProvisioningAction
    from workflows.common import (
        BUSY_RETRY,
        DB_RETRY,
        NOTICE_RETRY,
        PROVISION_RETRY,
        NextStep,
        ProcessStatus,
        ShowsStep,
    )
    from workflows.on_demand import access_windows, start_access
    from workflows.partners import START_RETRY, start_memberships

PARTNER_MEMBERSHIPS_PATCH = "change-partner-memberships"
PARTNER_ACTIONS = ("change_plan", "add_addon", "remove_addon", "terminate", "regret")
NOTICES = {"suspend": "suspended", "resume": "resumed", "terminate": "terminated", "regret": "terminated"}


class ChangeProcess(ShowsStep):
    """The steps shared by both workflow types."""

    process = "SubscriptionChange"

    def __init__(self) -> None:
        self._step = "starting"
        self._subscription_id = ""
        self._cancelled = False
        self._error: str | None = None
        self._plan: ChangePlan | None = None

    async def execute(self, plan: ChangePlan) -> ProcessStatus:
        self._subscription_id = plan.subscription_id
        self._plan = plan
        self._describe(change_about(plan))
        try:
            if plan.run_at > workflow.now():
                if not await self._wait_until_due(plan):
                    return self.status()
                self._step = "acquiring"
                await workflow.execute_activity_method(
                    ChangeActivities.acquire_subscription,
                    plan,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=BUSY_RETRY,
                )
            self._step = "applying"
            applied = await workflow.execute_activity_method(
                ChangeActivities.apply_change,
                plan,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=DB_RETRY,
            )
        except ActivityError as err:
            self._error = str(err.cause or err)
            self._step = "failed"
            await self._release(plan)
            raise
        await self._provision(plan, applied)
        partner = [s for _, s in applied.provision if s.product_kind == "partner_service"]
        if partner and plan.action in PARTNER_ACTIONS and workflow.patched(PARTNER_MEMBERSHIPS_PATCH):
            await self._partner_memberships(plan, applied)
        if plan.timing == "end_of_term":
            await workflow.execute_activity_method(
                ChangeActivities.close_scheduled_change,
                (plan.process_id, "applied"),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=DB_RETRY,
            )
        await self._notify(plan)
        self._step = "failed_provisioning" if self._error else "done"
        return self.status()

    async def _partner_memberships(self, plan: ChangePlan, applied: Applied) -> None:
        """A termination cancels the partner memberships; a plan change moves them to the new partner
        plan, ends those whose partner product was dropped, and signs up the ones it added."""
        self._step = "partner_memberships"
        try:
            if plan.action in ("terminate", "regret"):
                await workflow.execute_activity_method(
                    PartnerActivities.end_memberships,
                    EndMemberships(
                        subscription_id=plan.subscription_id,
                        process_id=plan.process_id,
                        reason=plan.reason or f"subscription {plan.action}",
                    ),
                    start_to_close_timeout=timedelta(seconds=60),
                    retry_policy=START_RETRY,
                )
                return
            await workflow.execute_activity_method(
                PartnerActivities.sync_plans,
                SyncMembershipPlans(subscription_id=plan.subscription_id, process_id=plan.process_id),
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=START_RETRY,
            )
        except ActivityError as err:  # the provider refused or stayed down: staff see it in the history
            self._error = f"partner membership update failed: {err.cause or err}"
            return
        added = [
            s.service_id
            for action, s in applied.provision
            if action == "activate" and s.product_kind == "partner_service"
        ]
        if added:
            await start_memberships(plan.subscription_id, plan.process_id, added)

    async def _wait_until_due(self, plan: ChangePlan) -> bool:
        self._step = "scheduling"
        await workflow.execute_activity_method(
            ChangeActivities.schedule_change,
            plan,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY,
        )
        self._step = "scheduled"
        try:
            await workflow.wait_condition(lambda: self._cancelled, timeout=plan.run_at - workflow.now())
        except TimeoutError:
            return True
        self._step = "cancelled"
        await workflow.execute_activity_method(
            ChangeActivities.close_scheduled_change,
            (plan.process_id, "cancelled"),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY,
        )
        return False

    async def _provision(self, plan: ChangePlan, applied: Applied) -> None:
        self._step = "provisioning"
        bought = [service for action, service in applied.provision if action == "activate"]
        windows = access_windows(bought)  # add-ons with an access window end with it
        for action, service in applied.provision:
            expires_at = windows.get(service.service_id) if action == "activate" else None
            order = OrderInput(
                idempotency_key=f"{plan.process_id}:{service.service_id}:{action}",
                action=ProvisioningAction(action),
                service_kind=service.product_kind,
                account_id="",
                subscription_id=plan.subscription_id,
                service_id=service.service_id,
                plan_code=service.plan_code,
                characteristics=service.characteristics,
                expires_at=expires_at.isoformat() if expires_at else None,
            )
            try:
                await workflow.execute_activity_method(
                    ProvisioningActivities.provision_service,
                    order,
                    start_to_close_timeout=timedelta(seconds=60),
                    retry_policy=PROVISION_RETRY,
                )
            except ActivityError as err:  # the order stays failed for an operator to re-run
                self._error = f"{action} of {service.service_id} failed: {err.cause or err}"
                continue
            if expires_at is not None:
                await start_access(
                    service, account_id="", subscription_id=plan.subscription_id, expires_at=expires_at
                )

    async def _notify(self, plan: ChangePlan) -> None:
        kind = NOTICES.get(plan.action, "changed")
        try:
            await workflow.execute_activity_method(
                SubscriptionActivities.notify_subscriber,
                Notice(subscription_id=plan.subscription_id, process_id=plan.process_id, kind=kind),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=NOTICE_RETRY,
            )
        except ActivityError:
            workflow.logger.warning("notice for %s not sent", plan.subscription_id)

    async def _release(self, plan: ChangePlan) -> None:
        await workflow.execute_activity_method(
            ChangeActivities.release_change,
            plan,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=DB_RETRY,
        )

    def status(self) -> ProcessStatus:
        return ProcessStatus(
            process=self.process,
            step=self._step,
            subscription_id=self._subscription_id,
            error=self._error,
            next=self._next(),
        )

    def _next(self) -> list[NextStep]:
        """A change waiting for its date: the date it takes effect."""
        plan = self._plan
        if plan is None or self._step not in ("scheduling", "scheduled"):
            return []
        return [NextStep(at=plan.run_at, what=f"{change_about(plan)} takes effect on {plan.effective_on}")]


def change_about(plan: ChangePlan) -> str:
    """What a change is, by ids and plan codes: ``change_plan of sub_… to fibre-300``."""
    target = f" to {plan.plan_code}" if plan.plan_code and plan.action != "remove_addon" else ""
    line = f" ({plan.service_id})" if plan.service_id else ""
    return f"{plan.action} of {plan.subscription_id}{line}{target}"


@workflow.defn(name="PlanChange")
class PlanChangeWorkflow(ChangeProcess):
    process = "PlanChange"

    @workflow.run
    async def run(self, plan: ChangePlan) -> ProcessStatus:
        return await self.execute(plan)

    @workflow.signal(name="cancel")
    def cancel(self) -> None:
        """Cancel a scheduled change (ignored once it is being applied)."""
        if self._step in ("starting", "scheduling", "scheduled"):
            self._cancelled = True

    @workflow.query(name="status")
    def query_status(self) -> ProcessStatus:
        return self.status()


@workflow.defn(name="SubscriptionAction")
class SubscriptionActionWorkflow(ChangeProcess):
    process = "SubscriptionAction"

    @workflow.run
    async def run(self, plan: ChangePlan) -> ProcessStatus:
        return await self.execute(plan)

    @workflow.signal(name="cancel")
    def cancel(self) -> None:
        if self._step in ("starting", "scheduling", "scheduled"):
            self._cancelled = True

    @workflow.query(name="status")
    def query_status(self) -> ProcessStatus:
        return self.status()
