"""Customer care for tests: an operator's care set-up (calendar, two queues, a category) and tickets made
through the transaction scripts, their history and events read back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from activities.accounts.organisations import authenticate
from activities.care import setup
from activities.care import tickets as store
from domain.principal import Principal
from models.base import unit_of_work
from models.care import Ticket, TicketHistory
from models.events import EventRecord
from tests.support.billing_factory import make_account
from tests.support.factories import Tenant, make_operator

ROUND_THE_CLOCK = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
OFFICE_HOURS = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


@dataclass(frozen=True)
class Care:
    tenant: Tenant
    principal: Principal
    account_id: str
    calendar_id: str
    queue_id: str
    next_queue_id: str
    category: str


def principal_of(database_url: str, tenant: Tenant) -> Principal:
    with unit_of_work(database_url) as session:
        principal = authenticate(session, tenant.token)
    assert principal is not None
    return principal


def make_care(
    database_url: str,
    *,
    timezone: str = "UTC",
    hours: dict[str, list[list[str]]] | None = None,
    holidays: list[date] | None = None,
    first_response: int = 60,
    resolution: int = 240,
    policy: dict[str, Any] | None = None,
    action: str = "none",
    tenant: Tenant | None = None,
    code: str | None = None,
) -> Care:
    tenant = tenant or make_operator(database_url)
    principal = principal_of(database_url, tenant)
    account_id = make_account(database_url, tenant.organisation_id)
    with unit_of_work(database_url) as session:
        calendar = setup.create_calendar(
            session,
            principal,
            {
                "name": "Care desk",
                "timezone": timezone,
                "working_hours": hours or ROUND_THE_CLOCK,
                "holidays": holidays or [],
            },
        )
        second = setup.create_queue(
            session, principal, {"name": "Second line", "supervisor": "head.of.care@example.com"}
        )
        first = setup.create_queue(
            session,
            principal,
            {"name": "First line", "next_queue_id": second.id, "supervisor": "lead@example.com"},
        )
        category = setup.create_category(
            session,
            principal,
            {
                "code": code or (action if action != "none" else "technical_fault"),
                "name": "Technical fault",
                "priority": "normal",
                "queue_id": first.id,
                "calendar_id": calendar.id,
                "first_response_minutes": first_response,
                "resolution_minutes": resolution,
                "action": action,
                "escalation_policy": policy or {},
            },
        )
        return Care(tenant, principal, account_id, calendar.id, first.id, second.id, category.id)


def raise_ticket(database_url: str, care: Care, **refs: Any) -> Ticket:
    with unit_of_work(database_url) as session:
        ticket = store.create_ticket(
            session,
            care.principal,
            store.NewTicket(care.account_id, care.category, "No signal on the router", **refs),
        )
        session.flush()
        session.expunge(ticket)
        return ticket


def load_ticket(database_url: str, ticket_id: str) -> Ticket:
    with unit_of_work(database_url) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        session.expunge(ticket)
        return ticket


def history_of(database_url: str, ticket_id: str, kind: str | None = None) -> list[TicketHistory]:
    with unit_of_work(database_url) as session:
        stmt = select(TicketHistory).where(TicketHistory.ticket_id == ticket_id)
        if kind is not None:
            stmt = stmt.where(TicketHistory.kind == kind)
        rows = list(session.execute(stmt.order_by(TicketHistory.id)).scalars())
        session.expunge_all()
        return rows


def events_of(database_url: str, ticket_id: str) -> list[EventRecord]:
    with unit_of_work(database_url) as session:
        stmt = select(EventRecord).where(EventRecord.object_id == ticket_id).order_by(EventRecord.id)
        rows = list(session.execute(stmt).scalars())
        session.expunge_all()
        return rows
