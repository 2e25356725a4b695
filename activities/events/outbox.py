"""Recording business events in the caller's transaction (the outbox), and reading them back.

``record`` appends one event; ``record_many`` appends a batch (a bill-run page's invoices) in one COPY
statement. Both run inside the transaction of the change they record, so an event exists exactly when
its change committed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from domain.events import API_VERSION, BusinessEvent
from domain.ids import new_id
from models.base import utcnow
from models.bulk import copy_rows
from models.events import EventRecord

COLUMNS = ("id", "type", "organisation_id", "object_type", "object_id", "data", "api_version", "occurred_at")


def _row(event: BusinessEvent, now: datetime, event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or new_id("evt"),
        "type": event.type,
        "organisation_id": event.organisation_id,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "data": event.data,
        "api_version": API_VERSION,
        "occurred_at": now,
    }


def record(session: Session, event: BusinessEvent) -> str:
    """Append ``event`` in the caller's transaction; its id."""
    row = _row(event, utcnow())
    session.execute(insert(EventRecord), [row])
    return str(row["id"])


def record_many(session: Session, events: Iterable[BusinessEvent]) -> int:
    """Append a batch of events in one COPY statement (a bill run's page); how many.

    The batch's ids are sorted before they are handed out, so the events keep the batch's order.
    """
    batch = list(events)
    if not batch:
        return 0
    now = utcnow()
    ids = sorted(new_id("evt") for _ in batch)
    rows = (tuple(_row(event, now, event_id).values()) for event, event_id in zip(batch, ids, strict=True))
    return copy_rows(session, EventRecord.__tablename__, COLUMNS, rows)


def record_once(session: Session, event: BusinessEvent, key: str) -> str | None:
    """Record ``event`` unless an event of its type about its object already carries ``key`` in
    ``data["key"]``: for a step whose script has no row of its own to tell a retry (a dunning notice).
    The new event's id, or None when it was recorded before."""
    seen = session.execute(
        select(EventRecord.id).where(
            EventRecord.object_id == event.object_id,
            EventRecord.type == event.type,
            EventRecord.data["key"].astext == key,
        )
    ).first()
    if seen is not None:
        return None
    return record(session, replace(event, data={**event.data, "key": key}))


def events_of(session: Session, object_id: str) -> list[EventRecord]:
    """An object's events, oldest first."""
    stmt = select(EventRecord).where(EventRecord.object_id == object_id).order_by(EventRecord.id)
    return list(session.execute(stmt).scalars())
