"""The suspense queue: events that could not be rated, with the reason; retried once the cause is fixed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.usage.ingestion import resolve_subscribers
from activities.usage.rating import rate_subscription_events
from domain.errors import Conflict, NotFound
from models.usage import UsageEvent


def event_out(event: UsageEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "client_event_id": event.client_event_id,
        "subscriber": event.subscriber,
        "subscription_id": event.subscription_id,
        "service_id": event.service_id,
        "event_type": event.event_type,
        "metric": event.metric,
        "quantity": event.quantity,
        "started_at": event.started_at.isoformat(),
        "destination": event.destination,
        "destination_raw": event.destination_raw,
        "source": event.source,
        "status": event.status,
        "reason": event.reason,
        "detail": event.detail,
        "attempts": event.attempts,
    }


def list_suspense(
    session: Session, organisation_id: str, *, reason: str | None, after: int | None, limit: int
) -> list[UsageEvent]:
    query = select(UsageEvent).where(
        UsageEvent.organisation_id == organisation_id, UsageEvent.status == "suspense"
    )
    if reason:
        query = query.where(UsageEvent.reason == reason)
    if after is not None:
        query = query.where(UsageEvent.id > after)
    return list(session.execute(query.order_by(UsageEvent.id).limit(limit)).scalars())


def retry(session: Session, organisation_id: str, event_id: int) -> UsageEvent:
    """Resolve and rate a suspended event again; it stays in suspense (reason updated) if still unrateable."""
    event = session.execute(
        select(UsageEvent)
        .where(UsageEvent.id == event_id, UsageEvent.organisation_id == organisation_id)
        .with_for_update()
    ).scalar_one_or_none()
    if event is None:
        raise NotFound("usage_event", str(event_id))
    if event.status != "suspense":
        raise Conflict("not_in_suspense", f"event {event_id} is {event.status}, not in suspense")
    event.attempts += 1
    if event.subscription_id is None:
        found = resolve_subscribers(session, organisation_id, [event.subscriber]).get(event.subscriber)
        if found is None:
            event.detail = f"no subscription, service or alias {event.subscriber}"
            session.flush()
            return event
        event.subscription_id, event.service_id = found
    event.status, event.reason, event.detail = "accepted", None, None
    session.flush()
    rate_subscription_events(session, event.subscription_id, [event])
    session.flush()
    session.refresh(event)
    return event
