"""An escalation level that notifies the supervisor emails them: the milestone recorded by the care
activity (as TicketEscalation records it), then the relay's two steps on PostgreSQL and the SMTP sink.
The subscriber's preferences and the operator's triggers do not apply to this staff message."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx

from activities.care import sla
from activities.care.io import MilestoneReached
from domain import care as rules
from models.base import unit_of_work
from models.care import TicketQueue
from runtime.settings import Settings
from tests.support.care_support import events_of, make_care, raise_ticket
from tests.support.notification_support import engine, fan_out_all, messages_of, send_round, start_cursor
from tests.support.smtp import SmtpSink

POLICY = {
    "levels": [{"at_percent": 100, "priority": "urgent", "next_queue": True, "notify_supervisor": True}]
}
NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def test_an_escalation_emails_the_queues_supervisor_once(
    settings: Settings, database_url: str, smtp_server: SmtpSink
) -> None:
    care = make_care(database_url, policy=POLICY)
    supervisor = f"lead.{uuid.uuid4().hex[:8]}@example.com"
    with unit_of_work(database_url) as session:
        queue = session.get(TicketQueue, care.queue_id)
        assert queue is not None
        queue.supervisor = supervisor
    ticket = raise_ticket(database_url, care)
    [level] = [
        m
        for m in rules.milestones(rules.EscalationPolicy.model_validate(POLICY), first_response=True)
        if m.kind == "escalation"
    ]
    activities = engine(settings, smtp_server)
    cursor = start_cursor()
    for _ in range(2):  # a retried activity records it once
        with unit_of_work(database_url) as session:
            sla.reach(session, MilestoneReached(ticket_id=ticket.id, milestone=level, arm=0, at=NOON))
    [escalated] = [e for e in events_of(database_url, ticket.id) if e.type == "ticket.escalated"]
    fan_out_all(activities, cursor, NOON)
    fan_out_all(activities, cursor, NOON)  # a repeated page adds no second message
    send_round(activities, NOON)
    send_round(activities, NOON)

    [alert] = messages_of(database_url, escalated.id)
    assert (alert.channel, alert.recipient, alert.status, alert.attempts) == ("email", supervisor, "sent", 1)
    assert alert.account_id is None and alert.trigger_id == "escalation:supervisor"  # not the subscriber's
    email = await smtp_server.wait_for(supervisor)
    assert f"Ticket {ticket.id} escalated to level 1 (urgent)" in str(email["Subject"]).replace("\r\n", "")
    [text] = [
        bytes(part.get_payload(decode=True)).decode()  # type: ignore[arg-type]
        for part in email.walk()
        if part.get_content_type() == "text/plain"
    ]
    assert f"Queue: {care.next_queue_id} (was {care.queue_id})" in text
    assert len(smtp_server.to(supervisor)) == 1


async def test_a_level_without_notify_supervisor_emails_nobody(
    settings: Settings, database_url: str, smtp_server: SmtpSink
) -> None:
    quiet = {"levels": [{"at_percent": 100, "priority": "high"}]}
    care = make_care(database_url, policy=quiet)
    ticket = raise_ticket(database_url, care)
    [level] = [
        m
        for m in rules.milestones(rules.EscalationPolicy.model_validate(quiet), first_response=True)
        if m.kind == "escalation"
    ]
    activities = engine(settings, smtp_server)
    cursor = start_cursor()
    with unit_of_work(database_url) as session:
        sla.reach(session, MilestoneReached(ticket_id=ticket.id, milestone=level, arm=0, at=NOON))
    [escalated] = [e for e in events_of(database_url, ticket.id) if e.type == "ticket.escalated"]
    assert escalated.data["supervisor"] is None
    fan_out_all(activities, cursor, NOON)
    assert messages_of(database_url, escalated.id) == []


async def test_the_operators_ticket_escalated_template_writes_the_supervisors_email(
    api: httpx.AsyncClient, settings: Settings, database_url: str, smtp_server: SmtpSink
) -> None:
    care = make_care(database_url, policy=POLICY)
    template = {
        "event_type": "ticket.escalated",
        "channel": "email",
        "language": "en",
        "subject": "ESCALATED {{ data.id }} L{{ data.level }} {{ data.priority }}",
        "body_text": "For {{ data.supervisor }}: {{ account.display_name }}, "
        "was in {{ data.from_queue_id }}.",
    }
    answer = await api.post("/v1/notification-templates", json=template, headers=care.tenant.post_headers())
    assert answer.status_code == 201, answer.text
    supervisor = f"lead.{uuid.uuid4().hex[:8]}@example.com"
    with unit_of_work(database_url) as session:
        queue = session.get(TicketQueue, care.queue_id)
        assert queue is not None
        queue.supervisor = supervisor
    ticket = raise_ticket(database_url, care)
    [level] = [
        m
        for m in rules.milestones(rules.EscalationPolicy.model_validate(POLICY), first_response=True)
        if m.kind == "escalation"
    ]
    activities = engine(settings, smtp_server)
    cursor = start_cursor()
    with unit_of_work(database_url) as session:
        sla.reach(session, MilestoneReached(ticket_id=ticket.id, milestone=level, arm=0, at=NOON))
    [escalated] = [e for e in events_of(database_url, ticket.id) if e.type == "ticket.escalated"]
    fan_out_all(activities, cursor, NOON)
    send_round(activities, NOON)
    [alert] = messages_of(database_url, escalated.id)
    assert (alert.template_id, alert.last_error, alert.status) == (answer.json()["id"], None, "sent")
    assert alert.subject == f"ESCALATED {ticket.id} L1 urgent"
    assert alert.body_text == f"For {supervisor}: Ana Ruiz, was in {care.queue_id}."
    email = await smtp_server.wait_for(supervisor)
    assert str(email["Subject"]).replace("\r\n", "") == alert.subject
