"""/v1/events: the business events of your organisation's subtree, oldest first, with a cursor to catch up."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from activities.events.reads import list_events, visible_event
from api.deps import SessionDep, StaffDep
from api.schemas.common import Page
from api.schemas.events import EventOut
from models.events import EventRecord

router = APIRouter(prefix="/v1/events", tags=["events"])


def event_out(row: EventRecord) -> dict[str, Any]:
    return EventOut(
        id=row.id,
        type=row.type,
        organisation_id=row.organisation_id,
        object_type=row.object_type,
        object_id=row.object_id,
        data=row.data,
        api_version=row.api_version,
        created_at=row.occurred_at,
    ).model_dump(mode="json")


@router.get(
    "",
    response_model=Page[EventOut],
    summary="List business events in your organisation's subtree, oldest first",
    description=(
        "Events are ordered by id, oldest first: keep the last page's `next_cursor` to catch up later. "
        "`type` may be given several times. Events are kept for 90 days. An unknown `type` is a 422 "
        "`unknown_event_type`."
    ),
)
def list_all(
    principal: StaffDep,
    session: SessionDep,
    type: Annotated[list[str] | None, Query(max_length=30)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    created_gte: Annotated[datetime | None, Query(description="only events at or after this time")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    rows, next_cursor = list_events(
        session,
        principal,
        types=type or [],
        object_id=object_id,
        created_gte=created_gte,
        cursor=cursor,
        limit=limit,
    )
    return {
        "data": [event_out(r) for r in rows],
        "next_cursor": next_cursor,
        "has_more": next_cursor is not None,
    }


@router.get("/{event_id}", response_model=EventOut, summary="Get a business event")
def get_one(event_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    return event_out(visible_event(session, principal, event_id))
