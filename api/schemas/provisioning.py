"""Provisioning orders as operators see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


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
