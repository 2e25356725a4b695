"""Reading business events back for ``GET /v1/events``: the caller's organisation subtree only.

Events are listed oldest first by id (ids sort by time), so an integrator catches up by passing the last
page's cursor; events older than ``RETENTION_DAYS`` are pruned and no longer listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from activities.shared.pagination import decode_cursor, encode_cursor, fetch_page
from domain.errors import NotFound, RuleViolation
from domain.events import EVENT_TYPES
from domain.ids import is_valid_id
from domain.principal import Principal
from models.events import EventRecord
from models.organisations import Organisation


def _visible(stmt: Select[Any], principal: Principal) -> Select[Any]:
    return stmt.join(Organisation, Organisation.id == EventRecord.organisation_id).where(
        Organisation.path.startswith(principal.organisation_path, autoescape=True)
    )


def check_types(types: Sequence[str]) -> list[str]:
    """The requested types, each one of ``EVENT_TYPES``; anything else: 422 ``unknown_event_type``."""
    unknown = sorted(set(types) - EVENT_TYPES)
    if unknown:
        raise RuleViolation(
            "unknown_event_type",
            f"{', '.join(unknown)}: not an event type; known types are {', '.join(sorted(EVENT_TYPES))}",
            field="type",
        )
    return list(types)


def list_events(
    session: Session,
    principal: Principal,
    *,
    types: Sequence[str] = (),
    object_id: str | None = None,
    created_gte: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[EventRecord], str | None]:
    """A page of the subtree's events, oldest first, and the cursor of the next page (None: last page)."""
    stmt = _visible(select(EventRecord), principal)
    if types:
        stmt = stmt.where(EventRecord.type.in_(check_types(types)))
    if object_id is not None:
        stmt = stmt.where(EventRecord.object_id == object_id)
    if created_gte is not None:
        stmt = stmt.where(EventRecord.occurred_at >= created_gte)
    if cursor:
        stmt = stmt.where(EventRecord.id > decode_cursor(cursor, "evt"))
    rows: list[EventRecord]
    rows, more = fetch_page(session, stmt.order_by(EventRecord.id), limit)
    return rows, encode_cursor(rows[-1].id) if more and rows else None


def visible_event(session: Session, principal: Principal, event_id: str) -> EventRecord:
    """The event ``event_id`` if it belongs to the caller's subtree; else 404 ``event_not_found``."""
    if not is_valid_id(event_id, "evt"):
        raise NotFound("event", event_id)
    stmt = _visible(select(EventRecord).where(EventRecord.id == event_id), principal)
    event: EventRecord | None = session.execute(stmt).scalar_one_or_none()
    if event is None:
        raise NotFound("event", event_id)
    return event
