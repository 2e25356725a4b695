"""/v1/business-calendars, /v1/ticket-queues, /v1/ticket-categories: the operator's care configuration
(written by operator admins, read by staff of the whole tree)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.orm import Session

from activities.care import setup
from api.deps import IdempotentWriteDep, OperatorAdminDep, SessionDep, StaffDep
from api.errors import ApiError
from api.schemas.care import (
    CalendarCreate,
    CalendarOut,
    CalendarUpdate,
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
    QueueCreate,
    QueueOut,
    QueueUpdate,
)
from api.schemas.common import Page

router = APIRouter(tags=["customer care"])


def out(schema: type[BaseModel], row: Any) -> dict[str, Any]:
    return schema.model_validate(row, from_attributes=True).model_dump(mode="json")


def page(schema: type[BaseModel], rows: Any) -> dict[str, Any]:
    return {"data": [out(schema, r) for r in rows], "next_cursor": None, "has_more": False}


def changes_of(body: BaseModel) -> dict[str, Any]:
    changes = body.model_dump(mode="json", exclude_unset=True)
    if not changes or any(value is None for name, value in changes.items() if name != "next_queue_id"):
        raise ApiError(422, "empty_update", "Name at least one field to change, none of them null")
    return changes


# --- Business calendars ---------------------------------------------------------------------------


@router.post("/v1/business-calendars", status_code=201, response_model=CalendarOut, summary="Add a calendar")
def create_calendar(body: CalendarCreate, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Any:
    def produce(session: Session) -> dict[str, Any]:
        return out(CalendarOut, setup.create_calendar(session, principal, body.model_dump()))

    return write(body, produce)


@router.get("/v1/business-calendars", response_model=Page[CalendarOut], summary="The operator's calendars")
def list_calendars(principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    return page(CalendarOut, setup.list_calendars(session, principal))


@router.get("/v1/business-calendars/{calendar_id}", response_model=CalendarOut, summary="Get a calendar")
def get_calendar(calendar_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    return out(CalendarOut, setup.find_calendar(session, principal, calendar_id))


@router.patch("/v1/business-calendars/{calendar_id}", response_model=CalendarOut, summary="Edit a calendar")
def update_calendar(
    calendar_id: str, body: CalendarUpdate, principal: OperatorAdminDep, session: SessionDep
) -> dict[str, Any]:
    changes = changes_of(body)
    if "holidays" in changes:
        changes["holidays"] = body.holidays
    return out(CalendarOut, setup.update_calendar(session, principal, calendar_id, changes))


# --- Ticket queues ----------------------------------------------------------------------------------


@router.post("/v1/ticket-queues", status_code=201, response_model=QueueOut, summary="Add a ticket queue")
def create_queue(body: QueueCreate, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Any:
    def produce(session: Session) -> dict[str, Any]:
        return out(QueueOut, setup.create_queue(session, principal, body.model_dump()))

    return write(body, produce)


@router.get("/v1/ticket-queues", response_model=Page[QueueOut], summary="The operator's ticket queues")
def list_queues(principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    return page(QueueOut, setup.list_queues(session, principal))


@router.get("/v1/ticket-queues/{queue_id}", response_model=QueueOut, summary="Get a ticket queue")
def get_queue(queue_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    return out(QueueOut, setup.find_queue(session, principal, queue_id))


@router.patch("/v1/ticket-queues/{queue_id}", response_model=QueueOut, summary="Edit a ticket queue")
def update_queue(queue_id: str, body: QueueUpdate, principal: OperatorAdminDep, session: SessionDep) -> Any:
    return out(QueueOut, setup.update_queue(session, principal, queue_id, changes_of(body)))


# --- Ticket categories ------------------------------------------------------------------------------


@router.post(
    "/v1/ticket-categories", status_code=201, response_model=CategoryOut, summary="Add a ticket category"
)
def create_category(body: CategoryCreate, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Any:
    def produce(session: Session) -> dict[str, Any]:
        return out(CategoryOut, setup.create_category(session, principal, body.model_dump(mode="json")))

    return write(body, produce)


@router.get(
    "/v1/ticket-categories", response_model=Page[CategoryOut], summary="The operator's ticket categories"
)
def list_categories(principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    return page(CategoryOut, setup.list_categories(session, principal))


@router.get(
    "/v1/ticket-categories/{category_id}", response_model=CategoryOut, summary="Get a ticket category"
)
def get_category(category_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    return out(CategoryOut, setup.find_category(session, principal, category_id))


@router.patch(
    "/v1/ticket-categories/{category_id}", response_model=CategoryOut, summary="Edit a ticket category"
)
def update_category(
    category_id: str, body: CategoryUpdate, principal: OperatorAdminDep, session: SessionDep
) -> dict[str, Any]:
    return out(CategoryOut, setup.update_category(session, principal, category_id, changes_of(body)))
