"""Notification triggers, templates, preferences and the message log, as the API takes and shows them."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Strict

Channel = Literal["email", "sms", "push", "webhook"]


class TriggerIn(Strict):
    event_pattern: str = Field(
        max_length=64, description="an event type (invoice.issued), a family (ticket.*) or * (every type)"
    )
    channels: list[Channel] = Field(
        max_length=4,
        description="where to notify; empty: do not notify. webhook: the integrators' endpoints receive "
        "the rendered message as a notification.message event",
    )
    enabled: bool = True
    marketing: bool = Field(default=False, description="subscribers who opted out of marketing are skipped")
    ignore_quiet_hours: bool = Field(default=False, description="legally required notices go at once")
    quiet_start: time | None = Field(default=None, description="quiet hours start, subscriber's local time")
    quiet_end: time | None = Field(default=None, description="quiet hours end (exclusive)")


class TriggerOut(BaseModel):
    id: str
    organisation_id: str
    event_pattern: str
    channels: list[str]
    enabled: bool
    marketing: bool
    ignore_quiet_hours: bool
    quiet_start: time | None
    quiet_end: time | None
    updated_at: datetime


class TemplateIn(Strict):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    event_type: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
    channel: Channel
    language: str = Field(min_length=2, max_length=16, pattern=r"^[a-z]{2}(-[A-Za-z0-9]{2,8})?$")
    subject: str = Field(default="", max_length=500)
    body_text: str = Field(min_length=1, max_length=20_000)
    body_html: str | None = Field(default=None, max_length=20_000)
    sample_data: dict[str, Any] | None = Field(
        default=None, description="fields of the event's data to check with, over the built-in sample"
    )


class TemplateOut(BaseModel):
    id: str
    organisation_id: str
    event_type: str
    channel: str
    language: str
    subject: str
    body_text: str
    body_html: str | None
    updated_at: datetime


class DefaultTemplateOut(BaseModel):
    event_type: str
    channel: str
    language: str
    subject: str
    body_text: str


class TemplatePreviewOut(BaseModel):
    subject: str
    body_text: str
    body_html: str | None
    sms_segments: int = Field(description="segments the text takes as an SMS")


class PreferencesIn(Strict):
    channels: list[Channel] | None = Field(default=None, description="channels accepted; null: every one")
    marketing_opt_out: bool = False


class PreferencesOut(BaseModel):
    account_id: str
    channels: list[str] | None
    marketing_opt_out: bool


class MessageOut(BaseModel):
    id: str
    organisation_id: str
    account_id: str | None
    event_id: str | None
    event_type: str
    trigger_id: str | None
    channel: str
    recipient: str | None
    template_id: str | None
    language: str
    subject: str
    body_text: str
    status: str = Field(description="queued|sending|sent|sent_unknown|delivered|failed|suppressed")
    suppressed_reason: str | None
    provider_message_id: str | None
    attempts: int
    segments: int | None
    next_attempt_at: datetime
    deferred_until: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class ReportAck(BaseModel):
    received: bool
    applied: bool
