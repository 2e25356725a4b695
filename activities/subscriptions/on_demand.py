"""The activity that ends an on-demand service line once its access window has expired or was revoked.

OnDemandAccess deprovisions the line; this records the end in the subscription as a termination
would (status ``terminated``, ``ended_on``, an event in the subscription's history), with no credit:
on-demand access is paid up front for its window. Idempotent: a retry, or a line already ended by
a termination or plan change, changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import select
from temporalio import activity

from activities.subscriptions import records as store
from models.base import unit_of_work
from models.subscriptions import Subscription, SubscriptionService
from runtime.settings import Settings

__all__ = ["EndAccess", "EndedAccess", "OnDemandActivities", "end_access"]


class EndAccess(BaseModel):
    process_id: str
    subscription_id: str
    service_id: str  # the line id, as provisioning knows it
    ended_at: datetime  # the expiry, or the moment of the revocation (from the workflow's clock)
    outcome: Literal["expired", "revoked"]


class EndedAccess(BaseModel):
    service_ids: list[str]  # the rows ended now (empty when a retry or another process ended them)
    ended_on: date | None


def end_access(url: str, request: EndAccess) -> EndedAccess:
    """End the live rows of the line in one transaction; a second call finds nothing live."""
    with unit_of_work(url) as session:
        sub = session.execute(
            select(Subscription).where(Subscription.id == request.subscription_id).with_for_update()
        ).scalar_one_or_none()
        if sub is None:
            return EndedAccess(service_ids=[], ended_on=None)
        day = request.ended_at.astimezone(ZoneInfo(sub.timezone)).date()
        live = session.execute(
            select(SubscriptionService).where(
                SubscriptionService.subscription_id == sub.id,
                SubscriptionService.line_id == request.service_id,
                SubscriptionService.status.in_(("active", "suspended")),
            )
        ).scalars()
        ended = []
        for row in live:
            row.status, row.ended_on = "terminated", max(day, row.started_on)
            ended.append(row.id)
            store.record_event(
                session,
                sub.id,
                "on_demand_ended",
                "system",
                f"{request.process_id}:{row.id}:ended",
                reason=f"access window {request.outcome}",
                service_id=row.id,
                effective_on=row.ended_on,
                data={"outcome": request.outcome, "ended_at": request.ended_at.isoformat()},
            )
        if ended:
            sub.version += 1
        return EndedAccess(service_ids=ended, ended_on=day if ended else None)


class OnDemandActivities:
    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: on-demand activities need the database")
        self.url = settings.database_url

    @activity.defn(name="end_on_demand_service")
    def end_on_demand_service(self, request: EndAccess) -> EndedAccess:
        return end_access(self.url, request)
