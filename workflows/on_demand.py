"""OnDemandAccess: provision a rental or pass with its expiry, wait for it, then deprovision.

A 48-hour rental or a 7-day pass is one workflow: ACTIVATE with ``expires_at`` (the platform may
enforce the expiry itself), a durable timer until that instant, then TERMINATE. A ``revoke``
signal (refund, fraud) ends the access early. Order keys derive from the workflow id, so a replayed
or retried step is the same order.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.provisioning import OrderInput, ProvisioningActivities
    from integrations.provisioning.base import ProvisioningAction

PROCESS = "OnDemandAccess"
PROVISION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=20,
)

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


class OnDemandResult(BaseModel):
    service_id: str
    outcome: Literal["expired", "revoked", "failed"]
    expires_at: str
    detail: str = ""


@workflow.defn(name=PROCESS)
class OnDemandAccessWorkflow:
    def __init__(self) -> None:
        self._step: Step = "starting"
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
        expires_at = workflow.now() + timedelta(hours=request.duration_hours)
        self._expires_at = expires_at
        self._step = "activating"
        try:
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
        await self._order(request, ProvisioningAction.TERMINATE, None)
        self._step = "ended"
        outcome: Literal["expired", "revoked"] = "revoked" if self._revoked else "expired"
        return OnDemandResult(
            service_id=request.service_id, outcome=outcome, expires_at=expires_at.isoformat()
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
            retry_policy=PROVISION_RETRY,
        )
