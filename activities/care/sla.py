"""The SLA side of a ticket, for its TicketEscalation: the clock's state and budgets, business-time
arithmetic on the category's calendar, and reaching a milestone (warning, breach, escalation level), each
once per milestone and arm (a reopen re-arms the clocks). One transaction each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.care.io import MilestoneOutcome, MilestoneReached, TicketClock
from activities.care.setup import calendar_of
from activities.care.tickets import SYSTEM, append_history, record_ticket_event
from domain import business_time, care
from domain.errors import NotFound
from models.care import BusinessCalendar, Ticket, TicketCategory, TicketHistory, TicketQueue


def _category(session: Session, ticket: Ticket) -> TicketCategory:
    category = session.get(TicketCategory, ticket.category_id)
    assert category is not None, ticket.category_id
    return category


def clock(session: Session, ticket_id: str) -> TicketClock:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket", ticket_id)
    category = _category(session, ticket)
    policy = care.EscalationPolicy.model_validate(category.escalation_policy or {})
    responded = ticket.first_responded_at is not None
    return TicketClock(
        ticket_id=ticket.id,
        status=ticket.status,
        responded=responded,
        reopens=ticket.reopens,
        calendar_id=category.calendar_id,
        first_response_seconds=category.first_response_minutes * 60,
        resolution_seconds=category.resolution_minutes * 60,
        milestones=care.milestones(policy, first_response=True),
    )


def _calendar(session: Session, calendar_id: str) -> business_time.Calendar:
    row = session.get(BusinessCalendar, calendar_id)
    if row is None:
        raise NotFound("business_calendar", calendar_id)
    return calendar_of(row)


def deadline(session: Session, calendar_id: str, start: datetime, seconds: int) -> datetime:
    return business_time.add_business_seconds(_calendar(session, calendar_id), start, seconds)


def measure(session: Session, calendar_id: str, start: datetime, end: datetime) -> int:
    return business_time.business_seconds_between(_calendar(session, calendar_id), start, end)


def _reached_before(session: Session, ticket_id: str, key: str) -> bool:
    stmt = select(TicketHistory.id).where(
        TicketHistory.ticket_id == ticket_id,
        TicketHistory.kind == "sla",
        TicketHistory.data["key"].astext == key,
    )
    return session.execute(stmt).first() is not None


def reach(session: Session, request: MilestoneReached) -> MilestoneOutcome:
    """Record the milestone once (history line + event); an escalation level raises the priority, moves the
    ticket to its queue's next queue and names the supervisor in ``ticket.escalated``."""
    ticket = session.get(Ticket, request.ticket_id, with_for_update=True)
    if ticket is None:
        raise NotFound("ticket", request.ticket_id)
    milestone = request.milestone
    key = f"{request.arm}:{milestone.key}"
    if ticket.status == care.TicketStatus.CLOSED or _reached_before(session, ticket.id, key):
        return MilestoneOutcome(applied=False, escalation_level=ticket.escalation_level)
    data: dict[str, object] = {
        "key": key,
        "target": milestone.target.value,
        "kind": milestone.kind,
        "percent": milestone.percent,
        "at": request.at.isoformat(),  # the workflow's time: when the clock reached it
    }
    if milestone.kind == "warning":
        append_history(session, ticket, "sla", SYSTEM, data=data)
        record_ticket_event(session, "ticket.sla_warning", ticket, target=milestone.target.value)
        return MilestoneOutcome(applied=True, escalation_level=ticket.escalation_level)
    if milestone.kind == "breach":
        append_history(session, ticket, "sla", SYSTEM, data=data)
        record_ticket_event(session, "ticket.breached", ticket, target=milestone.target.value)
        return MilestoneOutcome(applied=True, escalation_level=ticket.escalation_level)
    return _escalate(session, ticket, milestone, data)


def _escalate(
    session: Session, ticket: Ticket, milestone: care.Milestone, data: dict[str, object]
) -> MilestoneOutcome:
    policy = care.EscalationPolicy.model_validate(_category(session, ticket).escalation_policy or {})
    level = policy.levels[milestone.level - 1]
    queue = session.get(TicketQueue, ticket.queue_id)
    assert queue is not None
    ticket.priority = care.raised(ticket.priority, level.priority)
    if level.next_queue and queue.next_queue_id is not None:
        ticket.queue_id = queue.next_queue_id
        ticket.assignee = None
    supervisor = queue.supervisor if level.notify_supervisor else None
    ticket.escalation_level = max(ticket.escalation_level, milestone.level)
    ticket.version += 1
    append_history(
        session,
        ticket,
        "sla",
        SYSTEM,
        data={**data, "level": milestone.level, "priority": ticket.priority, "queue_id": ticket.queue_id},
    )
    append_history(
        session,
        ticket,
        "escalation",
        SYSTEM,
        body=f"Escalated to level {milestone.level}",
        data={"level": milestone.level, "supervisor": supervisor, "queue_id": ticket.queue_id},
    )
    record_ticket_event(
        session,
        "ticket.escalated",
        ticket,
        level=milestone.level,
        supervisor=supervisor,
        from_queue_id=queue.id,
    )
    return MilestoneOutcome(
        applied=True,
        escalation_level=ticket.escalation_level,
        priority=ticket.priority,
        queue_id=ticket.queue_id,
        supervisor=supervisor,
    )
