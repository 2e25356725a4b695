"""An operator's provisioning repairs, as the ProvisioningRetry and ProvisioningResync processes'
activities: re-run a failed order through the adapters, or compare the platforms with what should be live
and order what closes the gap (the scripts are operator_tools.py and resync.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from temporalio import activity

from activities.provisioning.activities import ProvisioningActivities
from activities.provisioning.operator_tools import retry_order
from activities.provisioning.resync import ResyncReport, resync
from activities.shared.failures import refusals_fail_the_process
from activities.shared.visibility import Principal
from integrations.provisioning.base import AdapterRegistry
from runtime.settings import Settings


class OrderRetry(BaseModel):
    """A failed order to re-run, and the operator asking (the order must be in its subtree)."""

    principal: Principal
    order_id: str


class OrderRetried(BaseModel):
    """How the re-run ended: the order's state and the adapters' detail."""

    order_id: str
    outcome: str
    detail: str


class Resync(BaseModel):
    """A resync an operator asked for; ``key`` (the request's) keys the orders it places."""

    principal: Principal
    key: str


class RepairActivities:
    """The repair processes' activities, with the worker's provisioning adapters."""

    def __init__(self, settings: Settings, registry: AdapterRegistry) -> None:
        self.provisioning = ProvisioningActivities(settings, registry)

    @activity.defn(name="retry_provisioning_order")
    def retry(self, request: OrderRetry) -> OrderRetried:
        """Re-run a failed order now; a failure of the platform is an outcome, not an error."""
        with refusals_fail_the_process():
            outcome = retry_order(self.provisioning, request.principal, request.order_id)
        return OrderRetried(order_id=request.order_id, outcome=outcome.state, detail=outcome.detail)

    @activity.defn(name="resync_provisioning")
    def resync(self, request: Resync) -> ResyncReport:
        """Compare every adapter that can list its services with what should be live, and fix it."""
        with refusals_fail_the_process():
            return resync(self.provisioning, request.principal, request.key)

    def all(self) -> list[Any]:
        return [self.retry, self.resync]
