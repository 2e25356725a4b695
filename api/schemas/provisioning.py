"""Provisioning orders as operators see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ProvisioningOrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    subscription_id: str
    service_id: str
    service_kind: str
    action: str
    state: str
    adapter: str | None
    attempts: int
    error: str | None
    result: dict[str, Any]
    idempotency_key: str
    created_at: datetime
    updated_at: datetime


class RetryOut(BaseModel):
    order: ProvisioningOrderOut
    outcome: str
    detail: str


class ProvisioningCallbackOut(BaseModel):
    """What a platform's callback did: its event (host order id and status), once."""

    received: bool
    event_id: str
    outcome: str = Field(description="done, failed, pending, no_change, unknown_order or duplicate")
    duplicate: bool
    order_id: str | None = Field(description="the provisioning order it answered, if found")
