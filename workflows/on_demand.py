"""OnDemandAccess: provision a rental or pass with its expiry, wait for it, then deprovision.

A 48-hour rental or a 7-day pass is one workflow: ACTIVATE with ``expires_at`` (the platform may
enforce the expiry itself), a durable timer until that instant, then TERMINATE and end the
subscription's service row (``terminated``, ``ended_on`` the local day of the expiry; no credit, the
access was paid up front; behind the ``end-on-demand-service`` patch). A ``revoke`` signal (refund,
fraud) ends the access early. Order keys derive from the workflow id, so a replayed
or retried step is the same order.

Onboarding and add-on purchases start it (:func:`start_access`, id ``ondemand-<service id>``) for
plans with an access window once they have activated the service themselves (with its expiry):
``activated`` then skips the ACTIVATE.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.provisioning.io import OrderInput, ProvisioningActivities
    from activities.subscriptions.io import EndAccess, OnDemandActivities, ServiceRef
    from domain import process_ids
    from domain.process_ids import ProcessLabels
    from domain.provisioning import ProvisioningAction
    from workflows.common import ON_DEMAND_PROVISION_RETRY, ShowsStep, start_child

PROCESS = "OnDemandAccess"
PATCH = "start-on-demand-access"  # Onboarding and subscription changes start OnDemandAccess
END_PATCH = "end-on-demand-service"  # the service row is ended after the deprovisioning

Step = Literal["starting", "activating", "active", "deactivating", "ended", "failed"]


class OnDemandInput(BaseModel):
    service_kind: str
    account_id: str
    subscription_id: str
    service_id: str
    plan_code: str
    characteristics: dict[str, Any] = Field(default_factory=dict)
    device: dict[str, Any] | None = None
    duration_hours: int = Field(ge=1, le=24 * 366, description="48 for a rental, 168 for a 7-day pass")
    activated: bool = Field(default=False, description="the starter activated it, with expires_at")
    expires_at: datetime | None = Field(default=None, description="given with activated")


class OnDemandResult(BaseModel):
    service_id: str
    outcome: Literal["expired", "revoked", "failed"]
    expires_at: str
    detail: str = ""


def expiry(now: datetime, hours: int) -> datetime:
    return now + timedelta(hours=hours)


def access_windows(services: list[ServiceRef]) -> dict[str, datetime]:
    """From a workflow: service id → expiry of the services with an access window (new histories only)."""
    timed = [s for s in services if s.access_hours]
    if not timed or not workflow.patched(PATCH):
        return {}
    now = workflow.now()
    return {s.service_id: expiry(now, s.access_hours or 0) for s in timed}


async def start_access(
    service: ServiceRef,
    *,
    account_id: str,
    subscription_id: str,
    expires_at: datetime,
    device: dict[str, Any] | None = None,
) -> None:
    """From a workflow that activated ``service`` with its expiry: the process that ends it on time."""
    request = OnDemandInput(
        service_kind=service.product_kind,
        account_id=account_id,
        subscription_id=subscription_id,
        service_id=service.service_id,
        plan_code=service.plan_code,
        characteristics=service.characteristics,
        device=device,
        duration_hours=service.access_hours or 1,
        activated=True,
        expires_at=expires_at,
    )
    with contextlib.suppress(WorkflowAlreadyStartedError):  # a retried start finds the first one
        await start_child(
            OnDemandAccessWorkflow.run,
            request,
            id=process_ids.on_demand_access(service.service_id),
            labels=ProcessLabels(
                process=PROCESS,
                summary=f"{service.plan_code} on {service.service_id} until {expires_at.isoformat()}",
                account_id=account_id,
                subscription_id=subscription_id,
                memo_extra={"service_id": service.service_id},
            ),
        )


@workflow.defn(name=PROCESS)
class OnDemandAccessWorkflow(ShowsStep):
    def __init__(self) -> None:
        self._step = "starting"
        self._revoked = False
        self._expires_at: datetime | None = None

    @workflow.signal
    def revoke(self) -> None:
        self._revoked = True

    @workflow.query
    def status(self) -> dict[str, str | None]:
        return {"step": self._step, "expires_at": self._expires_at.isoformat() if self._expires_at else None}

    @workflow.run
    async def run(self, request: OnDemandInput) -> OnDemandResult:
        expires_at = request.expires_at or expiry(workflow.now(), request.duration_hours)
        self._expires_at = expires_at
        self._describe(f"{request.plan_code} on {request.service_id} until {expires_at.isoformat()}")
        self._step = "activating"
        try:
            if not request.activated:
                await self._order(request, ProvisioningAction.ACTIVATE, expires_at.isoformat())
        except ActivityError as exc:
            self._step = "failed"
            cause = str(exc.cause) if exc.cause else str(exc)
            return OnDemandResult(
                service_id=request.service_id,
                outcome="failed",
                expires_at=expires_at.isoformat(),
                detail=cause,
            )
        self._step = "active"
        remaining = max(expires_at - workflow.now(), timedelta(0))
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._revoked, timeout=remaining)
        self._step = "deactivating"
        outcome: Literal["expired", "revoked"] = "revoked" if self._revoked else "expired"
        ended_at = workflow.now() if self._revoked else expires_at
        await self._order(request, ProvisioningAction.TERMINATE, None)
        if workflow.patched(END_PATCH):
            await self._end_service(request, ended_at, outcome)
        self._step = "ended"
        return OnDemandResult(
            service_id=request.service_id, outcome=outcome, expires_at=expires_at.isoformat()
        )

    async def _end_service(
        self, request: OnDemandInput, ended_at: datetime, outcome: Literal["expired", "revoked"]
    ) -> None:
        """The subscription's service row ends too (as a termination records it, without credit)."""
        await workflow.execute_activity_method(
            OnDemandActivities.end_on_demand_service,
            EndAccess(
                process_id=workflow.info().workflow_id,
                subscription_id=request.subscription_id,
                service_id=request.service_id,
                ended_at=ended_at,
                outcome=outcome,
            ),
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=ON_DEMAND_PROVISION_RETRY,
        )

    async def _order(
        self, request: OnDemandInput, action: ProvisioningAction, expires_at: str | None
    ) -> None:
        order = OrderInput(
            idempotency_key=f"{workflow.info().workflow_id}:{request.service_id}:{action.value}",
            action=action,
            service_kind=request.service_kind,
            account_id=request.account_id,
            subscription_id=request.subscription_id,
            service_id=request.service_id,
            plan_code=request.plan_code,
            characteristics=request.characteristics,
            expires_at=expires_at,
            device=request.device,
        )
        await workflow.execute_activity_method(
            ProvisioningActivities.provision_service,
            order,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=ON_DEMAND_PROVISION_RETRY,
        )
