"""Notification test data and helpers: events recorded through the outbox as the areas record them, the
engine's activities with the test's channels, and one relay round run by hand (fan-out, then sends)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from activities.events import outbox
from activities.events.snapshots import invoice_data
from activities.notifications.activities import NotificationActivities
from activities.notifications.io import FanOutInput, SendDueInput, SendRound
from activities.webhooks.deliveries import cursor_at
from domain.events import BusinessEvent
from integrations.notify.sms.client import SmsGateway
from integrations.notify.smtp import SmtpNotifier
from models.base import unit_of_work, utcnow
from models.billing import Invoice
from models.notifications import NotificationMessage
from runtime.settings import Settings
from tests.support.ports import free_port
from tests.support.smtp import SmtpSink


def start_cursor() -> str:
    """A relay cursor just before now: the test's own events come after it."""
    return cursor_at(utcnow() - timedelta(seconds=1))


def record_invoice_issued(database_url: str, invoice_id: str) -> str:
    with unit_of_work(database_url) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        return outbox.record(
            session,
            BusinessEvent(
                "invoice.issued", invoice.organisation_id, "invoice", invoice.id, invoice_data(invoice)
            ),
        )


def record_event(
    database_url: str, organisation_id: str, kind: str, object_id: str, data: dict[str, Any]
) -> str:
    with unit_of_work(database_url) as session:
        return outbox.record(
            session, BusinessEvent(kind, organisation_id, kind.split(".")[0], object_id, data)
        )


def engine(settings: Settings, smtp: SmtpSink, sms: SmsGateway | None = None) -> NotificationActivities:
    notifier = SmtpNotifier(host=smtp.host, port=smtp.port, sender="Multibill <no-reply@multibill.local>")
    return NotificationActivities(settings, notifier, sms)


def fan_out_all(activities: NotificationActivities, cursor: str, at: datetime) -> str:
    while True:
        fanned = activities.fan_out(FanOutInput(cursor=cursor, at=at))
        cursor = fanned.cursor or cursor
        if not fanned.full:
            return cursor


def send_round(activities: NotificationActivities, at: datetime) -> SendRound:
    return activities.send_due(SendDueInput(at=at))


def messages_of(database_url: str, event_id: str) -> list[NotificationMessage]:
    with unit_of_work(database_url) as session:
        rows = session.execute(
            select(NotificationMessage)
            .where(NotificationMessage.event_id == event_id)
            .order_by(NotificationMessage.channel)
        ).scalars()
        out = list(rows)
        session.expunge_all()
        return out


@dataclass
class FlakySink(SmtpSink):
    """An SMTP server that answers ``451`` (try again later) to the first ``refuse`` messages to
    ``refuse_to`` (to anyone when empty). A relay started on a shared database may also send the
    messages of other tests' events recorded just before its cursor: a test naming its own recipient
    is not robbed of its refusals by them."""

    refuse: int = 0
    refused: int = 0
    refuse_to: set[str] = field(default_factory=set)
    seen: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        recipients = set(getattr(envelope, "rcpt_tos", ()))
        if self.refused < self.refuse and (not self.refuse_to or recipients & self.refuse_to):
            self.refused += 1
            return "451 4.3.0 Temporary failure, try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def flaky_smtp() -> Iterator[FlakySink]:
    sink = FlakySink(host="127.0.0.1", port=free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port)
    controller.start()
    yield sink
    controller.stop()
