"""Notifications end to end on the real parts: PostgreSQL, the SMTP sink, the SMS simulator over HTTP and
the API (served over HTTP where the simulator calls it back). The relay's two steps are run by hand
here (tests/workflows/test_notification_relay.py runs them in the durable process)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.message import Message

import httpx
from sqlalchemy import update

from models.base import unit_of_work, utcnow
from models.notifications import NotificationMessage
from runtime.settings import Settings
from tests.support.billing_factory import MIXED_LINES, make_account, make_invoice
from tests.support.eventually import eventually
from tests.support.factories import Tenant, make_operator
from tests.support.notification_support import (
    FlakySink,
    engine,
    fan_out_all,
    flaky_smtp,
    messages_of,
    record_event,
    record_invoice_issued,
    send_round,
    start_cursor,
)
from tests.support.sms_simulator import SMS_CALLBACK_SECRET, SmsGatewayUnderTest
from tests.support.smtp import SmtpSink

__all__ = ["flaky_smtp"]

NOON = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # 12:00 in Madrid


def _plain_text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain" and part.get_content_disposition() != "attachment":
            return bytes(part.get_payload(decode=True)).decode(part.get_content_charset() or "utf-8")  # type: ignore[arg-type]
    return ""


def _attachments(message: Message) -> list[tuple[str | None, str, bytes]]:
    return [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))  # type: ignore[misc]
        for part in message.walk()
        if part.get_content_disposition() == "attachment"
    ]


async def _save_template(api: httpx.AsyncClient, tenant: Tenant, **body: object) -> httpx.Response:
    return await api.post("/v1/notification-templates", json=body, headers=tenant.post_headers())


async def test_invoice_email_in_spanish_with_the_pdf_attached(
    api: httpx.AsyncClient, settings: Settings, database_url: str, smtp_server: SmtpSink
) -> None:
    operator = make_operator(database_url)
    answer = await _save_template(
        api,
        operator,
        event_type="invoice.issued",
        channel="email",
        language="es",
        subject="Factura {{ data.number }} de {{ organisation.name }}",
        body_text="Hola {{ account.display_name }}, total {{ money(data.total_minor, data.currency) }}.",
    )
    assert answer.status_code == 201, answer.text
    spanish = make_account(database_url, operator.organisation_id, language="es")
    english = make_account(database_url, operator.organisation_id, language="en")
    es_invoice = make_invoice(database_url, spanish, MIXED_LINES)
    en_invoice = make_invoice(database_url, english, MIXED_LINES)
    activities = engine(settings, smtp_server)
    cursor = start_cursor()
    es_event = record_invoice_issued(database_url, es_invoice)
    en_event = record_invoice_issued(database_url, en_invoice)
    fan_out_all(activities, cursor, NOON)
    send_round(activities, NOON)

    [es_message] = messages_of(database_url, es_event)
    assert (es_message.channel, es_message.language, es_message.status) == ("email", "es", "sent")
    assert es_message.template_id is not None and es_message.attempts == 1
    email = await smtp_server.wait_for(es_message.recipient or "")
    assert email["Subject"].startswith("Factura ")
    assert "total 64,84\xa0€" in _plain_text(email) or "total 64,84 €" in _plain_text(email)
    [(name, kind, pdf)] = _attachments(email)
    assert kind == "application/pdf" and name is not None and name.endswith(".pdf")
    assert pdf.startswith(b"%PDF")
    # The English account gets the built-in English template (the operator saved only a Spanish one).
    [en_message] = messages_of(database_url, en_event)
    assert (en_message.language, en_message.template_id) == ("en", None)
    assert en_message.subject.startswith("Your invoice ")
    assert "€64.84" in en_message.body_text


async def test_sms_with_delivery_reports_twice_and_out_of_order(
    settings: Settings, database_url: str, smtp_server: SmtpSink, sms_gateway: SmsGatewayUnderTest
) -> None:
    from api.app import create_app
    from tests.support.live_api import serve

    operator = make_operator(database_url)
    served = settings.model_copy(
        update={"temporal_address": "127.0.0.1:1", "sms_callback_secret": SMS_CALLBACK_SECRET}
    )
    with serve(create_app(served)) as api_url:
        async with httpx.AsyncClient(base_url=api_url, timeout=60) as api:
            answer = await api.post(
                "/v1/notification-triggers",
                json={"event_pattern": "payment.*", "channels": ["sms", "push"]},
                headers=operator.post_headers(),
            )
            assert answer.status_code == 201, answer.text
        account = make_account(database_url, operator.organisation_id, phone="+34600111222", language="en")
        sms_gateway.simulator.report_states = ["buffered", "delivered"]
        sms_gateway.simulator.out_of_order = True  # delivered first, then the stale "buffered"
        sms_gateway.simulator.report_copies = 2  # and each twice
        activities = engine(
            settings, smtp_server, sms_gateway.client(f"{api_url}/v1/notifications/sms/reports")
        )
        cursor = start_cursor()
        event = record_event(
            database_url,
            operator.organisation_id,
            "payment.failed",
            "pay_x1",
            {"id": "pay_x1", "account_id": account, "amount_minor": 1999, "currency": "EUR"},
        )
        fan_out_all(activities, cursor, NOON)
        send_round(activities, NOON)
        eventually(
            lambda: [r for r in sms_gateway.simulator.reports_sent if r[2] == 200],
            until=lambda sent: len(sent) == 4,
            timeout=90,
            what="four delivery reports answered",
        )
    push, sms = messages_of(database_url, event)
    assert (push.channel, push.status, push.recipient) == ("push", "sent", account)
    assert (sms.channel, sms.status, sms.recipient, sms.segments) == ("sms", "delivered", "+34600111222", 1)
    sent = sms_gateway.simulator.messages[sms.provider_message_id or ""]
    assert sent["text"] == "Your payment of €19.99 failed." and sent["reference"] == sms.id
    # Exactly one SMS went out for the event, whatever the reports did.
    assert [m for m in sms_gateway.simulator.messages.values() if m["reference"] == sms.id] == [sent]


async def test_a_report_with_a_bad_signature_is_refused(api: httpx.AsyncClient) -> None:
    answer = await api.post(
        "/v1/notifications/sms/reports",
        content=b'{"message_id": "SM1", "status": "delivered"}',
        headers={"X-SMS-Signature": "t=1,v1=00"},
    )
    assert (answer.status_code, answer.json()["code"]) == (401, "invalid_signature")


async def test_quiet_hours_defer_but_legally_required_go_at_once(
    api: httpx.AsyncClient, settings: Settings, database_url: str, smtp_server: SmtpSink
) -> None:
    operator = make_operator(database_url)
    for body in (
        {
            "event_pattern": "payment.failed",
            "channels": ["email"],
            "quiet_start": "22:00",
            "quiet_end": "08:00",
        },
        {
            "event_pattern": "invoice.issued",
            "channels": ["email"],
            "ignore_quiet_hours": True,
            "quiet_start": "22:00",
            "quiet_end": "08:00",
        },
    ):
        answer = await api.post("/v1/notification-triggers", json=body, headers=operator.post_headers())
        assert answer.status_code == 201, answer.text
    account = make_account(database_url, operator.organisation_id, timezone="Europe/Madrid")
    invoice = make_invoice(database_url, account, MIXED_LINES)
    activities = engine(settings, smtp_server)
    night = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)  # 23:30 in Madrid
    cursor = start_cursor()
    low = record_event(
        database_url,
        operator.organisation_id,
        "payment.failed",
        "pay_q1",
        {"id": "pay_q1", "account_id": account, "currency": "EUR", "amount_minor": 150},
    )
    issued = record_invoice_issued(database_url, invoice)
    fan_out_all(activities, cursor, night)
    send_round(activities, night)
    [deferred] = messages_of(database_url, low)
    resume = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # 08:00 in Madrid
    assert (deferred.status, deferred.deferred_until, deferred.next_attempt_at) == ("queued", resume, resume)
    assert messages_of(database_url, issued)[0].status == "sent"
    send_round(activities, resume - timedelta(minutes=1))
    assert messages_of(database_url, low)[0].status == "queued"
    send_round(activities, resume)
    assert messages_of(database_url, low)[0].status == "sent"
    await smtp_server.wait_for(deferred.recipient or "")


async def test_opt_outs_are_respected_but_never_for_legally_required(
    api: httpx.AsyncClient, settings: Settings, database_url: str, smtp_server: SmtpSink
) -> None:
    operator = make_operator(database_url)
    for body in (
        {"event_pattern": "invoice.issued", "channels": ["email", "sms"]},
        {"event_pattern": "subscription.*", "channels": ["email"], "marketing": True},
    ):
        assert (
            await api.post("/v1/notification-triggers", json=body, headers=operator.post_headers())
        ).status_code == 201
    account = make_account(database_url, operator.organisation_id, phone="+34600999888")
    answer = await api.put(
        f"/v1/accounts/{account}/notification-preferences",
        json={"channels": ["email"], "marketing_opt_out": True},
        headers=operator.auth,
    )
    assert answer.json() == {"account_id": account, "channels": ["email"], "marketing_opt_out": True}
    invoice = make_invoice(database_url, account, MIXED_LINES)
    activities = engine(settings, smtp_server)
    cursor = start_cursor()
    issued = record_invoice_issued(database_url, invoice)
    offer = record_event(
        database_url,
        operator.organisation_id,
        "subscription.activated",
        "sub_o1",
        {"id": "sub_o1", "account_id": account},
    )
    fan_out_all(activities, cursor, NOON)
    send_round(activities, NOON)
    email, sms = messages_of(database_url, issued)
    assert (email.status, sms.status, sms.suppressed_reason) == ("sent", "suppressed", "channel_opted_out")
    [marketing] = messages_of(database_url, offer)
    assert (marketing.status, marketing.suppressed_reason) == ("suppressed", "marketing_opt_out")
    listed = await api.get(
        "/v1/notifications", params={"account_id": account, "status": "suppressed"}, headers=operator.auth
    )
    assert sorted(m["suppressed_reason"] for m in listed.json()["data"]) == [
        "channel_opted_out",
        "marketing_opt_out",
    ]
    stranger = make_operator(database_url, name="Other")
    theirs = await api.get("/v1/notifications", params={"account_id": account}, headers=stranger.auth)
    assert theirs.json()["data"] == []


async def test_a_template_that_does_not_render_is_refused_with_line_and_reason(
    api: httpx.AsyncClient, database_url: str
) -> None:
    operator = make_operator(database_url)
    base = {"event_type": "invoice.issued", "channel": "email", "language": "en", "subject": "Invoice"}
    cases = [
        ("Hello\n\n{{ data.number + }}", 3, "syntax error"),
        ("Hello\n{{ data.number }}\n{{ data.no_such_field }}", 3, "unknown variable"),
        ("Hello\n{{ ''.__class__.__mro__[1].__subclasses__() }}", 2, "not allowed"),
    ]
    for text, line, reason in cases:
        answer = await _save_template(api, operator, **base, body_text=text)
        problem = answer.json()
        assert (answer.status_code, problem["code"]) == (422, "template_invalid"), answer.text
        assert (problem["field"], problem["line"]) == ("body_text", line)
        assert problem["reason"].startswith(reason)
    listed = await api.get("/v1/notification-templates", headers=operator.auth)
    assert listed.json()["data"] == []  # nothing half-written
    built_in = (await api.get("/v1/notification-templates/defaults", headers=operator.auth)).json()
    spanish_sms = next(
        t
        for t in built_in
        if (t["event_type"], t["channel"], t["language"]) == ("invoice.issued", "sms", "es")
    )
    assert spanish_sms["body_text"].startswith("{{ organisation.name }}: factura {{ data.number }}")
    preview = await api.post(
        "/v1/notification-templates/preview",
        json={**base, "body_text": "{{ money(data.total_minor, data.currency) }} — {{ data.number }}"},
        headers=operator.auth,
    )
    assert preview.json() == {
        "subject": "Invoice",
        "body_text": "€24.20 — INV-2026-000123",
        "body_html": None,
        "sms_segments": 1,
    }


async def test_a_failing_smtp_is_retried_and_never_sends_twice(
    settings: Settings, database_url: str, flaky_smtp: FlakySink
) -> None:
    operator = make_operator(database_url)
    email = f"flaky.{uuid.uuid4().hex[:8]}@example.com"
    account = make_account(database_url, operator.organisation_id, email=email)
    invoice = make_invoice(database_url, account, MIXED_LINES)
    flaky_smtp.refuse, flaky_smtp.refuse_to = 2, {email}
    activities = engine(settings, flaky_smtp)
    cursor = start_cursor()
    event = record_invoice_issued(database_url, invoice)
    fan_out_all(activities, cursor, NOON)
    fan_out_all(activities, cursor, NOON)  # a repeated page makes no second message
    assert send_round(activities, NOON).retrying >= 1
    [message] = messages_of(database_url, event)
    assert (message.status, message.attempts) == ("queued", 1)
    assert message.next_attempt_at == NOON + timedelta(seconds=30)
    send_round(activities, NOON + timedelta(seconds=10))  # not due yet: nothing
    assert messages_of(database_url, event)[0].attempts == 1
    send_round(activities, NOON + timedelta(seconds=30))
    send_round(activities, NOON + timedelta(minutes=5))
    [message] = messages_of(database_url, event)
    assert (message.status, message.attempts) == ("sent", 3)
    for _ in range(3):
        send_round(activities, NOON + timedelta(hours=1))
    assert len(flaky_smtp.to(message.recipient or "")) == 1


async def test_a_send_whose_outcome_is_unknown_is_not_sent_again(
    settings: Settings, database_url: str, smtp_server: SmtpSink
) -> None:
    from activities.notifications import sending

    operator = make_operator(database_url)
    account = make_account(database_url, operator.organisation_id)
    invoice = make_invoice(database_url, account, MIXED_LINES)
    activities = engine(settings, smtp_server)
    cursor = start_cursor()
    event = record_invoice_issued(database_url, invoice)
    fan_out_all(activities, cursor, NOON)
    with unit_of_work(database_url) as session:  # the worker claims it, then dies before recording
        claimed = sending.claim(session, NOON, limit=1000)
    assert event in {m.event_id for m in messages_of(database_url, event)}
    assert any(c.id == messages_of(database_url, event)[0].id for c in claimed)
    send_round(activities, NOON)  # a retry of the activity: still within the lease, not taken again
    assert messages_of(database_url, event)[0].status == "sending"
    with unit_of_work(database_url) as session:
        session.execute(
            update(NotificationMessage)
            .where(NotificationMessage.event_id == event)
            .values(updated_at=utcnow() - sending.LEASE - timedelta(seconds=1))
        )
    assert send_round(activities, NOON).unknown >= 1
    [message] = messages_of(database_url, event)
    assert (message.status, message.attempts) == ("sent_unknown", 1)
    assert smtp_server.to(message.recipient or "") == []


async def test_the_platforms_own_emails_use_the_operators_templates_and_are_logged(
    api: httpx.AsyncClient, settings: Settings, database_url: str, smtp_server: SmtpSink
) -> None:
    from activities.dunning.activities import DunningActivities
    from activities.dunning.io import NoticeInput

    operator = make_operator(database_url)
    answer = await _save_template(
        api,
        operator,
        event_type="dunning.step",
        channel="email",
        language="es",
        subject="Aviso ({{ data.kind }}): factura {{ data.invoice_number }}",
        body_text="Quedan {{ money(data.open_minor, data.currency) }} por pagar.",
    )
    assert answer.status_code == 201, answer.text
    account = make_account(database_url, operator.organisation_id, language="es")
    invoice = make_invoice(database_url, account, MIXED_LINES)
    dunning = DunningActivities(settings)
    process = f"dunning-{invoice}"
    message_id = dunning.send_notice(NoticeInput(invoice_id=invoice, kind="reminder", process_id=process))
    with unit_of_work(database_url) as session:
        from sqlalchemy import select

        logged = session.execute(
            select(NotificationMessage).where(NotificationMessage.account_id == account)
        ).scalar_one()
        assert (logged.event_type, logged.status, logged.language) == ("dunning.step", "sent", "es")
        assert logged.template_id is not None and logged.provider_message_id == message_id
        recipient = logged.recipient or ""
    email = await smtp_server.wait_for(recipient)
    assert email["Subject"].startswith("Aviso (reminder): factura ")
    assert "Quedan 64,84" in _plain_text(email)
    # Once the subscriber refuses email, the next notice is logged as suppressed and never sent.
    put = await api.put(
        f"/v1/accounts/{account}/notification-preferences",
        json={"channels": ["sms"], "marketing_opt_out": False},
        headers=operator.auth,
    )
    assert put.status_code == 200, put.text
    dunning.send_notice(NoticeInput(invoice_id=invoice, kind="warning", process_id=process))
    listed = await api.get("/v1/notifications", params={"account_id": account}, headers=operator.auth)
    assert sorted((m["status"], m["suppressed_reason"]) for m in listed.json()["data"]) == [
        ("sent", None),
        ("suppressed", "channel_opted_out"),
    ]
    assert len(smtp_server.to(recipient)) == 1
