"""Recording business events in the caller's transaction (the outbox), and reading them back.

``record`` appends one event; ``record_many`` appends a batch (a bill-run page's invoices) in one
statement. Both run inside the transaction of the change they record, so an event exists exactly when
its change committed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from domain.events import API_VERSION, BusinessEvent
from domain.ids import new_id
from models.base import utcnow
from models.events import EventRecord


def _row(event: BusinessEvent, now: datetime) -> dict[str, Any]:
    return {
        "id": new_id("evt"),
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
    """Append a batch of events in one statement; how many."""
    now = utcnow()
    rows = [_row(event, now) for event in events]
    if rows:
        session.execute(insert(EventRecord), rows)
    return len(rows)


def events_of(session: Session, object_id: str) -> list[EventRecord]:
    """An object's events, oldest first."""
    stmt = select(EventRecord).where(EventRecord.object_id == object_id).order_by(EventRecord.id)
    return list(session.execute(stmt).scalars())
