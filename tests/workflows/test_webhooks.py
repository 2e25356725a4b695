"""Webhook delivery on the time-skipping server, to a REAL HTTP receiver that verifies every signature:
signed deliveries, retries after failures and time-outs, per-object order, the attempt log, the
three-day window that fails a delivery and disables its endpoint, and the relay that fans out events
and redelivers by hand."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import select
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.webhooks import deliveries, endpoints, sending
from activities.webhooks.activities import WebhookActivities
from activities.webhooks.io import DueEndpoint, DueObject, RelayInput
from domain import process_ids
from domain.ids import new_id
from integrations.notify.base import Notifier
from integrations.notify.smtp import SmtpNotifier
from models.base import unit_of_work, utcnow
from models.organisations import Organisation
from models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from runtime.settings import Settings
from runtime.worker import ACTIVITY_THREADS, build_worker
from tests.support.eventually import eventually_async
from tests.support.factories import make_operator
from tests.support.smtp import SmtpSink
from tests.support.webhook_receiver import WebhookReceiver
from tests.support.webhook_support import make_endpoint, record_event
from workflows.webhooks import WebhookDeliveryWorkflow, WebhookRelayWorkflow, WebhookSenderWorkflow

SECRET = "whsec_" + "ab" * 32


@asynccontextmanager
async def webhook_worker(
    client: Client, settings: Settings, timeout_s: float = 2.0, notifier: Notifier | None = None
) -> AsyncIterator[str]:
    """A worker on a fresh queue running the webhook activities (short HTTP time-out); the queue."""
    queue = settings.model_copy(update={"task_queue": f"webhooks-{uuid.uuid4().hex[:8]}"})
    activities = WebhookActivities(queue, notifier, timeout_s=timeout_s).all()
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
        async with build_worker(client, queue, activity_executor=pool, activities=activities):
            yield queue.task_queue


def setup(settings: Settings, receiver: WebhookReceiver) -> tuple[str, str]:
    """An operator with an endpoint at the receiver (which knows its secret): (organisation, endpoint)."""
    receiver.secret = SECRET
    org = make_operator(settings.database_url or "").organisation_id
    endpoint_id = make_endpoint(settings.database_url or "", org, receiver.url, SECRET, settings.data_key)
    return org, endpoint_id


def contact_by_mail(database_url: str, org: str, smtp_server: SmtpSink) -> tuple[str, SmtpNotifier]:
    """Give the organisation a contact address; it and a notifier that mails the test SMTP server."""
    owner = f"ops-{uuid.uuid4().hex[:8]}@operator.example"
    with unit_of_work(database_url) as session:
        organisation = session.get(Organisation, org)
        assert organisation is not None
        organisation.contact_email = owner
    return owner, SmtpNotifier(host=smtp_server.host, port=smtp_server.port, sender="billing@multibill.test")


def fan_out_since(database_url: str, cursor: str) -> int:
    with unit_of_work(database_url) as session:
        return deliveries.fan_out(session, cursor).deliveries


async def deliver(env: WorkflowEnvironment, queue: str, org: str, endpoint_id: str, object_id: str) -> int:
    due = DueObject(endpoint_id=endpoint_id, object_id=object_id, organisation_id=org)
    return await env.client.execute_workflow(
        WebhookDeliveryWorkflow.run,
        due,
        id=process_ids.webhook_delivery(endpoint_id, object_id),
        task_queue=queue,
    )


def attempts_of(database_url: str, event_id: str) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
    with unit_of_work(database_url) as session:
        delivery = session.execute(
            select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)
        ).scalar_one()
        log = session.execute(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery.id)
            .order_by(WebhookAttempt.id)
        ).scalars()
        return delivery, list(log)


async def test_a_delivery_is_signed_and_verified(
    time_skipping_env: WorkflowEnvironment, settings: Settings, webhook_receiver: WebhookReceiver
) -> None:
    url = settings.database_url or ""
    org, endpoint_id = setup(settings, webhook_receiver)
    cursor = deliveries.cursor_at(utcnow() - timedelta(seconds=1))
    invoice = new_id("inv")
    event_id = record_event(url, org, invoice)
    assert fan_out_since(url, cursor) == 1
    assert fan_out_since(url, cursor) == 0  # a repeat adds nothing
    async with webhook_worker(time_skipping_env.client, settings) as queue:
        assert await deliver(time_skipping_env, queue, org, endpoint_id, invoice) == 1

    (got,) = webhook_receiver.received
    assert got.verified and got.answered == 200
    assert got.event["id"] == event_id and got.event["type"] == "invoice.issued"
    assert got.event["object"] == {"type": "invoice", "id": invoice}
    delivery, log = attempts_of(url, event_id)
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)
    assert [a.status_code for a in log] == [200]
    assert log[0].response_excerpt == '{"ok":true}' and log[0].error is None


async def test_failures_and_time_outs_are_retried_in_order_per_object(
    time_skipping_env: WorkflowEnvironment, settings: Settings, webhook_receiver: WebhookReceiver
) -> None:
    url = settings.database_url or ""
    org, endpoint_id = setup(settings, webhook_receiver)
    cursor = deliveries.cursor_at(utcnow() - timedelta(seconds=1))
    invoice = new_id("inv")
    first = record_event(url, org, invoice, "invoice.issued")
    second = record_event(url, org, invoice, "invoice.voided")
    third = record_event(url, org, invoice, "credit_note.issued")
    assert fan_out_since(url, cursor) == 3
    webhook_receiver.fail_next(2)
    async with webhook_worker(time_skipping_env.client, settings) as queue:
        assert await deliver(time_skipping_env, queue, org, endpoint_id, invoice) == 3

    assert [r.event["id"] for r in webhook_receiver.accepted()] == [first, second, third]
    assert [(r.event["id"], r.answered) for r in webhook_receiver.received[:3]] == [
        (first, 500),
        (first, 500),
        (first, 200),
    ]
    assert all(r.verified for r in webhook_receiver.received)
    delivery, log = attempts_of(url, first)
    assert (delivery.status, delivery.attempts) == ("succeeded", 3)
    assert [(a.status_code, a.error) for a in log] == [(500, "HTTP 500"), (500, "HTTP 500"), (200, None)]
    assert log[0].response_excerpt == '{"error":"try later"}'


async def test_a_receiver_that_times_out_is_retried(
    time_skipping_env: WorkflowEnvironment, settings: Settings, webhook_receiver: WebhookReceiver
) -> None:
    url = settings.database_url or ""
    org, endpoint_id = setup(settings, webhook_receiver)
    cursor = deliveries.cursor_at(utcnow() - timedelta(seconds=1))
    invoice = new_id("inv")
    event_id = record_event(url, org, invoice)
    fan_out_since(url, cursor)
    webhook_receiver.answer_after(1.5)
    async with webhook_worker(time_skipping_env.client, settings, timeout_s=0.5) as queue:
        handle = await time_skipping_env.client.start_workflow(
            WebhookDeliveryWorkflow.run,
            DueObject(endpoint_id=endpoint_id, object_id=invoice, organisation_id=org),
            id=process_ids.webhook_delivery(endpoint_id, invoice),
            task_queue=queue,
        )
        await eventually_async(
            lambda: asyncio.to_thread(lambda: attempts_of(url, event_id)[0].attempts >= 1),
            what="a first, timed-out attempt",
        )
        webhook_receiver.answer_after(0.3)  # late, but within the time-out
        assert await handle.result() == 1

    delivery, log = attempts_of(url, event_id)
    assert delivery.status == "succeeded"
    assert log[0].status_code is None and "Timeout" in (log[0].error or "")
    assert log[-1].status_code == 200 and log[-1].latency_ms >= 300


async def test_an_endpoint_failing_for_three_days_is_disabled_and_its_owner_told(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    webhook_receiver: WebhookReceiver,
    smtp_server: SmtpSink,
) -> None:
    url = settings.database_url or ""
    org, endpoint_id = setup(settings, webhook_receiver)
    owner, mail = contact_by_mail(url, org, smtp_server)
    cursor = deliveries.cursor_at(utcnow() - timedelta(seconds=1))
    invoice = new_id("inv")
    first = record_event(url, org, invoice)
    later = record_event(url, org, invoice, "invoice.voided")
    fan_out_since(url, cursor)
    webhook_receiver.fail_next(10**6)
    async with webhook_worker(time_skipping_env.client, settings, notifier=mail) as queue:
        assert await deliver(time_skipping_env, queue, org, endpoint_id, invoice) == 0

    delivery, log = attempts_of(url, first)
    assert delivery.status == "failed"
    assert len(log) == delivery.attempts > 10
    waits = [b.attempted_at - a.attempted_at for a, b in itertools.pairwise(log)]
    assert all(w < timedelta(minutes=1) for w in waits)  # real time: the server skipped the backoff
    with unit_of_work(url) as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        assert endpoint.enabled is False
        assert endpoint.disabled_reason is not None and "3 days" in endpoint.disabled_reason
    untouched, none = attempts_of(url, later)
    assert (untouched.status, none) == ("pending", [])  # kept for when the endpoint is enabled again
    told = await smtp_server.wait_for(owner)
    assert endpoint_id in (told["Subject"] or "") and "disabled" in (told["Subject"] or "")
    body = told.get_payload(decode=True)
    assert isinstance(body, bytes) and b"PATCH /v1/webhook-endpoints/" + endpoint_id.encode() in body
    assert len(smtp_server.to(owner)) == 1  # told once


async def test_the_relay_fans_out_delivers_and_redelivers_by_hand(
    own_time_skipping_env: WorkflowEnvironment, settings: Settings, webhook_receiver: WebhookReceiver
) -> None:
    url = settings.database_url or ""
    org, endpoint_id = setup(settings, webhook_receiver)
    async with webhook_worker(own_time_skipping_env.client, settings) as queue:
        relay = await own_time_skipping_env.client.start_workflow(
            WebhookRelayWorkflow.run,
            RelayInput(cursor=deliveries.cursor_at(utcnow()), interval_s=0.2, rounds_per_run=5),
            id=f"{process_ids.WEBHOOK_RELAY}-{uuid.uuid4().hex[:8]}",
            task_queue=queue,
        )
        try:
            first = record_event(url, org, new_id("acc"), "account.created")
            second = record_event(url, org, new_id("sub"), "subscription.activated")
            await eventually_async(
                lambda: asyncio.sleep(
                    0, {r.event["id"] for r in webhook_receiver.accepted()} == {first, second}
                ),
                timeout=20,
                what="both events delivered by the relay",
            )
            # ... and recorded: a redelivery asked while the first attempt is still being recorded is
            # swallowed by it (record_attempt closes the delivery; see the fifteenth session's note)
            await eventually_async(
                lambda: asyncio.to_thread(lambda: attempts_of(url, first)[0]),
                until=lambda delivery: delivery.status == "succeeded",
                timeout=20,
                what="the first delivery recorded as succeeded",
            )
            with unit_of_work(url) as session:
                endpoint = session.get(WebhookEndpoint, endpoint_id)
                assert endpoint is not None
                delivery_id = attempts_of(url, first)[0].id
                endpoints.redeliver(session, endpoint, delivery_id)
            await eventually_async(
                lambda: asyncio.to_thread(lambda: attempts_of(url, first)[0]),
                until=lambda delivery: (delivery.status, delivery.attempts) == ("succeeded", 2),
                timeout=20,
                what="the first event redelivered",
            )
            first_run = own_time_skipping_env.client.get_workflow_handle(relay.id, run_id=relay.result_run_id)
            await eventually_async(
                lambda: first_run.describe(),
                until=lambda run: run.status == WorkflowExecutionStatus.CONTINUED_AS_NEW,
                timeout=20,
                what="the relay continued as new after its rounds",
            )
        finally:
            await relay.terminate("test over")
    assert [r.event["id"] for r in webhook_receiver.accepted()].count(first) == 2
    assert [a.status_code for a in attempts_of(url, first)[1]] == [200, 200]


def test_production_refuses_to_post_to_a_private_address(webhook_receiver: WebhookReceiver) -> None:
    body = sending.body_of({"id": "evt_1"})
    refused = sending.post(webhook_receiver.url, SECRET, "evt_1", body, production=True)
    assert refused.status_code is None and refused.error is not None and "127.0.0.1" in refused.error
    assert webhook_receiver.received == []
    webhook_receiver.secret = SECRET
    sent = sending.post(webhook_receiver.url, SECRET, "evt_1", body)
    assert sent.delivered and [r.verified for r in webhook_receiver.received] == [True]


async def send(env: WorkflowEnvironment, queue: str, org: str, endpoint_id: str) -> int:
    due = DueEndpoint(endpoint_id=endpoint_id, organisation_id=org)
    return await env.client.execute_workflow(
        WebhookSenderWorkflow.run, due, id=process_ids.webhook_sender(endpoint_id), task_queue=queue
    )


async def test_a_sender_sends_objects_together_and_each_objects_events_in_order(
    time_skipping_env: WorkflowEnvironment, settings: Settings, webhook_receiver: WebhookReceiver
) -> None:
    """The endpoint's WebhookSender: one batch holds each object's oldest event; a failed one waits for
    its retry (its object's later events behind it) while the other objects go on."""
    url = settings.database_url or ""
    org, endpoint_id = setup(settings, webhook_receiver)
    cursor = deliveries.cursor_at(utcnow() - timedelta(seconds=1))
    first, second = new_id("inv"), new_id("inv")
    a1 = record_event(url, org, first, "invoice.issued")
    b1 = record_event(url, org, second, "invoice.issued")
    a2 = record_event(url, org, first, "invoice.voided")
    b2 = record_event(url, org, second, "invoice.voided")
    others = [record_event(url, org, new_id("inv")) for _ in range(20)]
    assert fan_out_since(url, cursor) == 24
    webhook_receiver.fail_next(1)  # the first POST of the first batch fails
    async with webhook_worker(time_skipping_env.client, settings) as queue:
        assert await send(time_skipping_env, queue, org, endpoint_id) == 24

    accepted = [r.event["id"] for r in webhook_receiver.accepted()]
    assert sorted(accepted) == sorted([a1, a2, b1, b2, *others])  # each once
    assert accepted.index(a1) < accepted.index(a2) and accepted.index(b1) < accepted.index(b2)
    (failed,) = [r.event["id"] for r in webhook_receiver.received if r.answered == 500]
    delivery, log = attempts_of(url, failed)
    assert delivery.status == "succeeded" and [a.status_code for a in log] == [500, 200]
    assert all(r.verified for r in webhook_receiver.received)


async def test_a_sender_gives_up_after_three_days_disables_the_endpoint_and_tells_its_owner(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    webhook_receiver: WebhookReceiver,
    smtp_server: SmtpSink,
) -> None:
    url = settings.database_url or ""
    org, endpoint_id = setup(settings, webhook_receiver)
    owner, mail = contact_by_mail(url, org, smtp_server)
    cursor = deliveries.cursor_at(utcnow() - timedelta(seconds=1))
    event = record_event(url, org, new_id("inv"))
    fan_out_since(url, cursor)
    webhook_receiver.fail_next(10**6)
    async with webhook_worker(time_skipping_env.client, settings, notifier=mail) as queue:
        assert await send(time_skipping_env, queue, org, endpoint_id) == 0

    delivery, log = attempts_of(url, event)
    assert delivery.status == "failed" and len(log) == delivery.attempts > 10
    with unit_of_work(url) as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None and endpoint.enabled is False
        assert endpoint.disabled_reason is not None and "3 days" in endpoint.disabled_reason
    told = await smtp_server.wait_for(owner)
    assert endpoint_id in (told["Subject"] or "")
    assert len(smtp_server.to(owner)) == 1
