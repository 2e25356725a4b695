"""The ``webhook`` channel of a trigger: the rendered message handed to the operator's integrators as a
``notification.message`` business event, once, and taken up by the webhook relay for the endpoints that
listen to it. Real parts: PostgreSQL, the API, the relay's steps run by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select, update

from activities.webhooks import deliveries
from models.base import unit_of_work, utcnow
from models.events import EventRecord
from models.webhooks import WebhookDelivery, WebhookEndpoint
from runtime.settings import Settings
from tests.support.billing_factory import make_account
from tests.support.factories import make_operator
from tests.support.notification_support import (
    engine,
    fan_out_all,
    messages_of,
    record_event,
    send_round,
    start_cursor,
)
from tests.support.smtp import SmtpSink
from tests.support.webhook_support import make_endpoint

NOON = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)


def message_events(database_url: str, message_id: str) -> list[EventRecord]:
    with unit_of_work(database_url) as session:
        rows = list(
            session.execute(
                select(EventRecord).where(
                    EventRecord.type == "notification.message", EventRecord.object_id == message_id
                )
            ).scalars()
        )
        session.expunge_all()
        return rows


async def test_a_webhook_channel_hands_the_message_to_the_integrators_once(
    api: httpx.AsyncClient, settings: Settings, database_url: str, smtp_server: SmtpSink
) -> None:
    operator = make_operator(database_url)
    trigger = {"event_pattern": "*", "channels": ["webhook", "email"]}  # "*": even the message's own event
    answer = await api.post("/v1/notification-triggers", json=trigger, headers=operator.post_headers())
    assert answer.status_code == 201, answer.text
    assert answer.json()["channels"] == ["email", "webhook"]
    listening = make_endpoint(
        database_url, operator.organisation_id, "http://127.0.0.1:9/h", "whsec_x", settings.data_key
    )
    with unit_of_work(database_url) as session:
        session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == listening)
            .values(event_types=["notification.message"])
        )
    account = make_account(database_url, operator.organisation_id, language="en")
    activities = engine(settings, smtp_server)
    cursor = start_cursor()
    hooks_cursor = deliveries.cursor_at(utcnow() - timedelta(seconds=1))
    event = record_event(
        database_url,
        operator.organisation_id,
        "payment.failed",
        "pay_w1",
        {"id": "pay_w1", "account_id": account, "amount_minor": 1999, "currency": "EUR"},
    )
    cursor = fan_out_all(activities, cursor, NOON)
    send_round(activities, NOON)
    send_round(activities, NOON)  # nothing is handed over twice
    email, hook = messages_of(database_url, event)
    assert (email.channel, email.status) == ("email", "sent")
    assert (hook.channel, hook.status, hook.recipient) == ("webhook", "sent", account)
    [handed] = message_events(database_url, hook.id)
    assert hook.provider_message_id == handed.id
    assert handed.data["account_id"] == account and handed.data["about_event_id"] == event
    assert handed.data["body_text"] == email.body_text  # the full text, as the email has it
    assert "€19.99 failed" in handed.data["body_text"]
    # the message's own event notifies nobody (a "*" trigger would loop otherwise)
    fan_out_all(activities, cursor, NOON)
    assert messages_of(database_url, handed.id) == []
    # the webhook relay takes it up for the endpoint listening to notification.message
    with unit_of_work(database_url) as session:
        deliveries.fan_out(session, hooks_cursor)
        endpoints = session.execute(
            select(WebhookDelivery.endpoint_id).where(WebhookDelivery.event_id == handed.id)
        ).scalars()
        assert list(endpoints) == [listening]


async def test_a_subscriber_who_refused_the_webhook_channel_is_not_handed_over(
    api: httpx.AsyncClient, settings: Settings, database_url: str, smtp_server: SmtpSink
) -> None:
    operator = make_operator(database_url)
    trigger = {"event_pattern": "payment.failed", "channels": ["webhook"]}
    assert (
        await api.post("/v1/notification-triggers", json=trigger, headers=operator.post_headers())
    ).status_code == 201
    account = make_account(database_url, operator.organisation_id)
    answer = await api.put(
        f"/v1/accounts/{account}/notification-preferences",
        json={"channels": ["email"], "marketing_opt_out": False},
        headers=operator.auth,
    )
    assert answer.status_code == 200, answer.text
    activities = engine(settings, smtp_server)
    cursor = start_cursor()
    event = record_event(
        database_url,
        operator.organisation_id,
        "payment.failed",
        "pay_w2",
        {"id": "pay_w2", "account_id": account, "amount_minor": 500, "currency": "EUR"},
    )
    fan_out_all(activities, cursor, NOON)
    send_round(activities, NOON)
    [hook] = messages_of(database_url, event)
    assert (hook.status, hook.suppressed_reason) == ("suppressed", "channel_opted_out")
    assert message_events(database_url, hook.id) == []
