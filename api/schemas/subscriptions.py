"""Response bodies of /v1/subscriptions (the requests are the process inputs in activities.subscriptions)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from activities.subscriptions.changes import ChangePlan
from api.schemas.common import IsoDateTime


class SubscriptionOut(BaseModel):
    """A subscription as a list shows it."""

    id: str
    object: Literal["subscription"] = "subscription"
    account_id: str
    organisation_id: str
    status: str
    currency: str
    timezone: str
    bill_day: int
    billing_term: str
    start_date: date | None
    end_date: date | None
    cooling_off_until: date | None
    failure_reason: str | None
    active_process_id: str | None = Field(description="The process that holds the subscription now")
    version: int
    created_at: IsoDateTime


class PriceOut(BaseModel):
    amount_minor: int
    amount: str
    currency: str


class ServiceOut(BaseModel):
    id: str
    line_id: str
    plan: str
    plan_version: int
    kind: str
    role: str
    quantity: int
    status: str
    started_on: date | None
    ended_on: date | None
    replaced_by: str | None
    price: PriceOut = Field(description="Today's price (or the price on its start, if later)")


class ScheduledChangeOut(BaseModel):
    id: str
    kind: str
    effective_on: date | None
    process_id: str
    plan: str | None


class ChargeOut(BaseModel):
    id: str
    kind: str
    description: str
    amount_minor: int
    currency: str
    status: str
    period_start: date | None
    period_end: date | None


class HistoryOut(BaseModel):
    kind: str
    actor: str
    reason: str | None
    effective_on: date | None
    at: IsoDateTime | None
    service_id: str | None


class SubscriptionDetail(SubscriptionOut):
    """A subscription with its services, pending scheduled changes, one-off charges and history."""

    services: list[ServiceOut]
    scheduled_changes: list[ScheduledChangeOut]
    charges: list[ChargeOut]
    history: list[HistoryOut]


class OnboardingStarted(BaseModel):
    object: Literal["process_started"] = "process_started"
    process: Literal["Onboarding"] = "Onboarding"
    subscription_id: str
    process_id: str
    account_id: str


class ChangeStarted(BaseModel):
    object: Literal["process_started"] = "process_started"
    process_id: str
    subscription_id: str
    account_id: str
    organisation_id: str
    change: ChangePlan


class ChangeCancelling(BaseModel):
    id: str
    object: Literal["scheduled_change"] = "scheduled_change"
    status: Literal["cancelling"] = "cancelling"
    process_id: str
