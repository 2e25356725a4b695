"""Webhook endpoints, their deliveries and attempts, as the API takes and shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.common import Strict


class EndpointCreate(Strict):
    url: str = Field(max_length=2000, description="http(s) URL the events are POSTed to")
    event_types: list[str] = Field(
        default_factory=list, max_length=100, description="event types to receive; empty: every type"
    )
    enabled: bool = True


class EndpointUpdate(Strict):
    url: str | None = Field(default=None, max_length=2000)
    event_types: list[str] | None = Field(default=None, max_length=100)
    enabled: bool | None = None


class EndpointOut(BaseModel):
    id: str
    organisation_id: str
    url: str
    event_types: list[str]
    enabled: bool
    created_at: datetime
    disabled_reason: str | None
    failing_since: datetime | None


class EndpointCreated(EndpointOut):
    secret: str | None = Field(
        description="whsec_…: signs every delivery (see Multibill-Signature); shown in this answer only"
    )


class AttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None


class DeliveryOut(BaseModel):
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    object_id: str
    status: str = Field(description="pending | succeeded | failed")
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    attempt_log: list[AttemptOut]
