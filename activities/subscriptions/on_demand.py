"""Ending an on-demand service line once its access window has expired or was revoked.

OnDemandAccess deprovisions the line; this records the end in the subscription as a termination
would (status ``terminated``, ``ended_on``, an event in the subscription's history), with no credit:
on-demand access is paid up front for its window. Idempotent: a retry, or a line already ended by
a termination or plan change, changes nothing.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from activities.subscriptions import records as store
from activities.subscriptions.io import EndAccess, EndedAccess
from models.base import unit_of_work
from models.subscriptions import Subscription, SubscriptionService


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
