"""Inputs and outputs of the provisioning activity, and the activity as workflows call it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from temporalio import activity

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


__all__ = ["OrderInput", "OrderOutcome", "ProvisioningAction", "ProvisioningActivities"]
