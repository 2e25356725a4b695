"""Tickets, their history and attachments, and the care configuration (calendars, queues, categories), as
the API takes and shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import Strict

Priority = Literal["low", "normal", "high", "urgent"]
Action = Literal["none", "stolen_device", "billing_dispute", "cancel_request"]
Status = Literal["new", "open", "waiting_on_customer", "resolved", "closed"]
WorkingHours = dict[
    Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    list[list[str]],
]


class CalendarCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(min_length=1, max_length=64, description="IANA zone, e.g. Europe/Madrid")
    working_hours: WorkingHours = Field(
        description='per weekday, opening windows in local time: {"mon": [["09:00", "17:00"]], …}'
    )
    holidays: list[date] = Field(default_factory=list, max_length=1000)


class CalendarUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    working_hours: WorkingHours | None = None
    holidays: list[date] | None = Field(default=None, max_length=1000)


class CalendarOut(BaseModel):
    id: str
    name: str
    timezone: str
    working_hours: dict[str, Any]
    holidays: list[date]
    created_at: datetime


class QueueCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    owner_organisation_id: str | None = Field(
        default=None, max_length=32, description="whose staff work it (an outlet or partner); default: yours"
    )
    next_queue_id: str | None = Field(
        default=None, max_length=32, description="where escalations move tickets"
    )
    supervisor: str | None = Field(default=None, max_length=320, description="who escalations notify")


class QueueUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    next_queue_id: str | None = Field(default=None, max_length=32)
    supervisor: str | None = Field(default=None, max_length=320)


class QueueOut(BaseModel):
    id: str
    name: str
    owner_organisation_id: str
    next_queue_id: str | None
    supervisor: str | None
    created_at: datetime


class EscalationLevelIn(Strict):
    at_percent: int = Field(ge=1, le=1000, description="of the resolution target")
    priority: Priority | None = None
    next_queue: bool = False
    notify_supervisor: bool = False


class EscalationPolicyIn(Strict):
    warn_percent: int = Field(default=80, ge=1, le=99)
    levels: list[EscalationLevelIn] = Field(default_factory=list, max_length=10)


class CategoryCreate(Strict):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=200)
    priority: Priority = "normal"
    queue_id: str = Field(max_length=32)
    calendar_id: str = Field(max_length=32)
    first_response_minutes: int = Field(gt=0, le=525_600)
    resolution_minutes: int = Field(gt=0, le=5_256_000)
    action: Action = "none"
    escalation_policy: EscalationPolicyIn = Field(default_factory=EscalationPolicyIn)
    open_to_subscribers: bool = Field(default=False, description="subscribers may raise tickets in it")


class CategoryUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    priority: Priority | None = None
    queue_id: str | None = Field(default=None, max_length=32)
    calendar_id: str | None = Field(default=None, max_length=32)
    first_response_minutes: int | None = Field(default=None, gt=0, le=525_600)
    resolution_minutes: int | None = Field(default=None, gt=0, le=5_256_000)
    escalation_policy: EscalationPolicyIn | None = None
    open_to_subscribers: bool | None = None


class CategoryOut(BaseModel):
    id: str
    code: str
    name: str
    priority: str
    queue_id: str
    calendar_id: str
    first_response_minutes: int
    resolution_minutes: int
    action: str
    escalation_policy: dict[str, Any]
    open_to_subscribers: bool
    created_at: datetime


class TicketCreate(Strict):
    account_id: str = Field(max_length=32)
    category: str = Field(min_length=1, max_length=64, description="a category id (tcat_…) or code")
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=20_000)
    subscription_id: str | None = Field(default=None, max_length=32)
    device_id: str | None = Field(default=None, max_length=32)
    invoice_id: str | None = Field(default=None, max_length=32)
    payment_id: str | None = Field(default=None, max_length=32)


class TicketOut(BaseModel):
    id: str
    account_id: str
    organisation_id: str
    category_id: str
    queue_id: str
    status: str
    priority: str
    subject: str
    description: str
    subscription_id: str | None
    device_id: str | None
    invoice_id: str | None
    payment_id: str | None
    assignee: str | None
    escalation_level: int
    reopens: int
    process_id: str
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TicketHistoryOut(BaseModel):
    id: int
    at: datetime
    kind: str
    actor: str
    visibility: str
    body: str | None
    data: dict[str, Any]


class TicketDetail(TicketOut):
    history: list[TicketHistoryOut]


class TransitionIn(Strict):
    status: Status
    note: str | None = Field(default=None, max_length=5000)


class CommentIn(Strict):
    body: str = Field(min_length=1, max_length=20_000)
    public: bool = Field(
        default=False, description="seen by the customer; a public answer is the first response"
    )
    from_customer: bool = Field(
        default=False, description="the customer's reply, taken by staff (resumes the clock)"
    )


class AssignIn(Strict):
    assignee: str | None = Field(default=None, min_length=1, max_length=200)
    queue_id: str | None = Field(default=None, max_length=32)


class AttachmentOut(BaseModel):
    id: str
    ticket_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class AttachmentContent(AttachmentOut):
    content_base64: str
