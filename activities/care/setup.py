"""The operator's care configuration: business calendars, ticket queues, ticket categories. Written by
operator admins, read by staff of the whole tree; one transaction each (the caller's session)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.catalog.records import operator_of
from activities.shared.visibility import find_visible_organisation
from domain import business_time, care
from domain.errors import Conflict, NotFound, RuleViolation
from domain.ids import is_valid_id, new_id
from domain.principal import Principal
from models.care import BusinessCalendar, TicketCategory, TicketQueue


def calendar_of(row: BusinessCalendar) -> business_time.Calendar:
    return business_time.calendar_from(row.timezone, row.working_hours, list(row.holidays))


def checked_calendar(timezone: str, working_hours: dict[str, list[list[str]]], holidays: list[date]) -> None:
    try:
        business_time.calendar_from(timezone, working_hours, holidays)
    except business_time.CalendarError as exc:
        raise RuleViolation("invalid_calendar", str(exc), field=exc.field) from None


def create_calendar(session: Session, principal: Principal, fields: dict[str, Any]) -> BusinessCalendar:
    checked_calendar(fields["timezone"], fields["working_hours"], fields.get("holidays") or [])
    row = BusinessCalendar(
        id=new_id("bcal"),
        organisation_id=operator_of(principal),
        name=fields["name"],
        timezone=fields["timezone"],
        working_hours=fields["working_hours"],
        holidays=sorted(set(fields.get("holidays") or [])),
    )
    session.add(row)
    session.flush()
    return row


def _owned(session: Session, model: Any, principal: Principal, ident: str, prefix: str, kind: str) -> Any:
    row = session.get(model, ident) if is_valid_id(ident, prefix) else None
    if row is None or row.organisation_id != operator_of(principal):
        raise NotFound(kind, ident)
    return row


def find_calendar(session: Session, principal: Principal, calendar_id: str) -> BusinessCalendar:
    row: BusinessCalendar = _owned(
        session, BusinessCalendar, principal, calendar_id, "bcal", "business_calendar"
    )
    return row


def update_calendar(
    session: Session, principal: Principal, calendar_id: str, changes: dict[str, Any]
) -> BusinessCalendar:
    row = find_calendar(session, principal, calendar_id)
    timezone = changes.get("timezone", row.timezone)
    hours = changes.get("working_hours", row.working_hours)
    holidays = changes.get("holidays", list(row.holidays))
    checked_calendar(timezone, hours, holidays)
    row.name = changes.get("name", row.name)
    row.timezone, row.working_hours, row.holidays = timezone, hours, sorted(set(holidays))
    session.flush()
    return row


def list_calendars(session: Session, principal: Principal) -> Sequence[BusinessCalendar]:
    stmt = select(BusinessCalendar).where(BusinessCalendar.organisation_id == operator_of(principal))
    return session.execute(stmt.order_by(BusinessCalendar.id)).scalars().all()


def find_queue(session: Session, principal: Principal, queue_id: str) -> TicketQueue:
    row: TicketQueue = _owned(session, TicketQueue, principal, queue_id, "tq", "ticket_queue")
    return row


def create_queue(session: Session, principal: Principal, fields: dict[str, Any]) -> TicketQueue:
    owner = fields.get("owner_organisation_id") or principal.organisation_id
    if find_visible_organisation(session, principal, owner) is None:
        raise NotFound("organisation", owner)
    next_queue = fields.get("next_queue_id")
    if next_queue is not None:
        find_queue(session, principal, next_queue)
    row = TicketQueue(
        id=new_id("tq"),
        organisation_id=operator_of(principal),
        owner_organisation_id=owner,
        name=fields["name"],
        next_queue_id=next_queue,
        supervisor=fields.get("supervisor"),
    )
    session.add(row)
    session.flush()
    return row


def update_queue(
    session: Session, principal: Principal, queue_id: str, changes: dict[str, Any]
) -> TicketQueue:
    row = find_queue(session, principal, queue_id)
    if changes.get("next_queue_id") is not None:
        if changes["next_queue_id"] == row.id:
            raise RuleViolation(
                "invalid_next_queue", "A queue cannot escalate to itself", field="next_queue_id"
            )
        find_queue(session, principal, changes["next_queue_id"])
    for name in ("name", "next_queue_id", "supervisor"):
        if name in changes:
            setattr(row, name, changes[name])
    session.flush()
    return row


def list_queues(session: Session, principal: Principal) -> Sequence[TicketQueue]:
    stmt = select(TicketQueue).where(TicketQueue.organisation_id == operator_of(principal))
    return session.execute(stmt.order_by(TicketQueue.id)).scalars().all()


def checked_policy(raw: dict[str, Any] | None) -> dict[str, Any]:
    try:
        policy = care.check_policy(care.EscalationPolicy.model_validate(raw or {}))
    except (ValidationError, ValueError) as exc:
        raise RuleViolation("invalid_escalation_policy", str(exc), field="escalation_policy") from None
    return policy.model_dump(mode="json")


def create_category(session: Session, principal: Principal, fields: dict[str, Any]) -> TicketCategory:
    operator = operator_of(principal)
    find_queue(session, principal, fields["queue_id"])
    find_calendar(session, principal, fields["calendar_id"])
    taken = session.execute(
        select(TicketCategory.id).where(
            TicketCategory.organisation_id == operator, TicketCategory.code == fields["code"]
        )
    ).first()
    if taken is not None:
        raise Conflict("ticket_category_exists", f"A category {fields['code']} exists already")
    row = TicketCategory(
        id=new_id("tcat"),
        organisation_id=operator,
        code=fields["code"],
        name=fields["name"],
        priority=fields["priority"],
        queue_id=fields["queue_id"],
        calendar_id=fields["calendar_id"],
        first_response_minutes=fields["first_response_minutes"],
        resolution_minutes=fields["resolution_minutes"],
        action=fields.get("action") or care.CategoryAction.NONE.value,
        escalation_policy=checked_policy(fields.get("escalation_policy")),
        open_to_subscribers=bool(fields.get("open_to_subscribers", False)),
    )
    session.add(row)
    session.flush()
    return row


def find_category(session: Session, principal: Principal, category_id: str) -> TicketCategory:
    row: TicketCategory = _owned(session, TicketCategory, principal, category_id, "tcat", "ticket_category")
    return row


def category_by_code(session: Session, principal: Principal, code: str) -> TicketCategory:
    row = session.execute(
        select(TicketCategory).where(
            TicketCategory.organisation_id == operator_of(principal), TicketCategory.code == code
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("ticket_category", code)
    return row


def update_category(
    session: Session, principal: Principal, category_id: str, changes: dict[str, Any]
) -> TicketCategory:
    row = find_category(session, principal, category_id)
    if changes.get("queue_id") is not None:
        find_queue(session, principal, changes["queue_id"])
    if changes.get("calendar_id") is not None:
        find_calendar(session, principal, changes["calendar_id"])
    if "escalation_policy" in changes:
        changes = {**changes, "escalation_policy": checked_policy(changes["escalation_policy"])}
    for name, value in changes.items():
        setattr(row, name, value)
    session.flush()
    return row


def list_categories(session: Session, principal: Principal) -> Sequence[TicketCategory]:
    stmt = select(TicketCategory).where(TicketCategory.organisation_id == operator_of(principal))
    return session.execute(stmt.order_by(TicketCategory.id)).scalars().all()
