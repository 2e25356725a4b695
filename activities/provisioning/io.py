"""Inputs and outputs of the provisioning activities, and the activities as workflows call them: an order
(provision_service) and an operator's repairs (retry a failed order, resync the platforms)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from temporalio import activity

from domain.principal import Principal
from domain.provisioning import ProvisioningAction


class OrderInput(BaseModel):
    """One provisioning order: an action on one service of a subscription."""

    idempotency_key: str = Field(description="unique per process, service and action")
    action: ProvisioningAction
    service_kind: str
    account_id: str
    subscription_id: str
    service_id: str
    plan_code: str
    characteristics: dict[str, Any] = Field(default_factory=dict)
    expires_at: str | None = None
    device: dict[str, Any] | None = None


class OrderOutcome(BaseModel):
    """Where an order ended: done, skipped (no adapter serves the kind) or failed, and by whom."""

    order_id: str
    state: str
    adapters: list[str]
    detail: str = ""


class ProvisioningActivities:
    """Provisioning as workflows call it (implemented in activities/provisioning/activities.py)."""

    @activity.defn(name="provision_service")
    def provision_service(self, order: OrderInput) -> OrderOutcome:
        """Carry out one order on every adapter of the service kind (none registered: skipped)."""
        raise NotImplementedError


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


class ResyncOrder(BaseModel):
    """An order a resync placed to close a gap, and where it ended."""

    adapter: str
    service_id: str
    action: ProvisioningAction
    order_id: str
    state: str
    detail: str = ""


class ResyncReport(BaseModel):
    """What a resync found and did: adapters asked, services checked and in sync, orders, unknowns."""

    adapters: list[str]
    checked: int
    in_sync: int
    orders: list[ResyncOrder]
    unknown: list[str]
    errors: dict[str, str]


class RepairActivities:
    """The repair processes' activities as workflows call them (implemented in provisioning/activities.py)."""

    @activity.defn(name="retry_provisioning_order")
    def retry(self, request: OrderRetry) -> OrderRetried:
        """Re-run a failed order now; a failure of the platform is an outcome, not an error."""
        raise NotImplementedError

    @activity.defn(name="resync_provisioning")
    def resync(self, request: Resync) -> ResyncReport:
        """Compare every adapter that can list its services with what should be live, and fix it."""
        raise NotImplementedError


__all__ = [
    "OrderInput",
    "OrderOutcome",
    "OrderRetried",
    "OrderRetry",
    "ProvisioningAction",
    "ProvisioningActivities",
    "RepairActivities",
    "Resync",
    "ResyncOrder",
    "ResyncReport",
]
