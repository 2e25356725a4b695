"""Recording business events in the caller's transaction (the outbox), and reading them back.

``record`` appends one event; ``record_many`` appends a batch (a bill-run page's invoices) in one COPY
statement. Both run inside the transaction of the change they record, so an event exists exactly when
its change committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from domain.events import API_VERSION, BusinessEvent
from domain.ids import new_id, new_ids
from models.base import core, utcnow
from models.bulk import copy_lines, escape
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


_EVENTS = core(EventRecord)


def record(session: Session, event: BusinessEvent) -> str:
    """Append ``event`` in the caller's transaction; its id."""
    row = _row(event, utcnow())
    session.execute(insert(_EVENTS), row)
    return str(row["id"])


def record_many(session: Session, events: Iterable[BusinessEvent]) -> int:
    """Append a batch of events in one COPY statement (a bill run's page); how many.

    The batch's ids are one moment's, in the batch's order; the fields are written in COPY's text
    format directly (this is on a bill run's path: the outbox must cost it little). ``type`` is one of
    ``EVENT_TYPES`` and the organisation an ``org_`` id, so neither needs escaping.
    """
    batch = list(events)
    if not batch:
        return 0
    now = utcnow().isoformat()
    ids = new_ids("evt", len(batch))
    lines = (
        f"{event_id}\t{e.type}\t{e.organisation_id}\t{escape(e.object_type)}\t"
        f"{escape(e.object_id)}\t{escape(json.dumps(e.data))}\t{API_VERSION}\t{now}"
        for event_id, e in zip(ids, batch, strict=True)
    )
    return copy_lines(session, EventRecord.__tablename__, COLUMNS, lines)


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
