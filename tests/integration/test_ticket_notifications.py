"""Ticket updates as notification triggers: with a ``ticket.*`` trigger the subscriber hears of their
request being received, of public answers and of status changes, in their language, but never of the
ticket's internal life (internal notes, assignments, SLA warnings and escalations). Real parts: the care
transaction scripts and the relay's steps on PostgreSQL, the SMTP sink."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from activities.care import sla
from activities.care import tickets as store
from activities.care.io import MilestoneReached
from domain import care as rules
from models.base import unit_of_work
from models.notifications import NotificationMessage
from runtime.settings import Settings
from tests.support.care_support import events_of, make_care, raise_ticket
from tests.support.notification_support import engine, fan_out_all, send_round, start_cursor
from tests.support.smtp import SmtpSink

NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def test_the_subscriber_hears_of_their_ticket_but_not_of_its_internal_life(
    api: httpx.AsyncClient, settings: Settings, database_url: str, smtp_server: SmtpSink
) -> None:
    policy = {"levels": [{"at_percent": 100, "notify_supervisor": True}]}
    care = make_care(database_url, policy=policy)
    trigger = {"event_pattern": "ticket.*", "channels": ["email"]}
    answer = await api.post("/v1/notification-triggers", json=trigger, headers=care.tenant.post_headers())
    assert answer.status_code == 201, answer.text
    activities = engine(settings, smtp_server)
    cursor = start_cursor()
    ticket = raise_ticket(database_url, care)  # the account speaks Spanish (the factory's default)
    with unit_of_work(database_url) as session:
        store.comment(session, care.principal, ticket.id, "Check the DSLAM", public=False)
        store.assign(session, care.principal, ticket.id, "maria", None)
        store.comment(session, care.principal, ticket.id, "We are on it", public=True)
        store.transition(session, care.principal, ticket.id, "open")
    milestones = rules.milestones(rules.EscalationPolicy.model_validate(policy), first_response=True)
    for milestone in milestones:
        with unit_of_work(database_url) as session:
            sla.reach(session, MilestoneReached(ticket_id=ticket.id, milestone=milestone, arm=0, at=NOON))
    fan_out_all(activities, cursor, NOON)
    send_round(activities, NOON)

    events = {e.id: e for e in events_of(database_url, ticket.id)}
    types = sorted(e.type for e in events.values())
    assert types.count("ticket.sla_warning") == 2 and "ticket.escalated" in types
    with unit_of_work(database_url) as session:
        rows = session.execute(
            select(NotificationMessage).where(NotificationMessage.event_id.in_(list(events)))
        ).scalars()
        told = sorted(
            (events[m.event_id].type, str(events[m.event_id].data.get("change")), m.recipient, m.status)
            for m in rows
            if m.event_id is not None
        )
    supervisor = "lead@example.com"
    subscriber = [t for t in told if t[2] != supervisor]
    assert [(t[0], t[1], t[3]) for t in subscriber] == [
        ("ticket.created", "None", "sent"),
        ("ticket.updated", "comment", "sent"),
        ("ticket.updated", "status", "sent"),
    ]
    assert [t[:2] for t in told if t[2] == supervisor] == [("ticket.escalated", "None")]
    await smtp_server.wait_for(subscriber[0][2] or "")
    emails = smtp_server.to(subscriber[0][2] or "")
    subjects = sorted(str(m["Subject"]).replace("\r\n", "") for m in emails)
    assert subjects == [
        f"Hemos recibido su solicitud {ticket.id}",
        f"Su solicitud {ticket.id} tiene novedades",
        f"Su solicitud {ticket.id} tiene novedades",
    ]
