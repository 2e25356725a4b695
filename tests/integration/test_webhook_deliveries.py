"""Webhook fan-out and what is due: deliveries for the endpoints that listen (once), the organisation
tree, and an object waiting for its next attempt left to its running WebhookDelivery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from activities.events import outbox
from activities.webhooks import deliveries
from activities.webhooks.io import AttemptInput, DueObject
from domain.events import BusinessEvent
from domain.ids import new_id
from models.base import engine_for, unit_of_work, utcnow
from models.webhooks import WebhookDelivery, WebhookEndpoint
from runtime.settings import Settings
from tests.support.factories import make_child, make_operator
from tests.support.webhook_support import make_endpoint, record_event

HOOK = "http://127.0.0.1:9/hooks"


def endpoint_ids_for(database_url: str, event_id: str) -> set[str]:
    with unit_of_work(database_url) as session:
        rows = session.execute(
            select(WebhookDelivery.endpoint_id).where(WebhookDelivery.event_id == event_id)
        )
        return set(rows.scalars())


def test_events_fan_out_to_listening_endpoints_up_the_tree(settings: Settings, database_url: str) -> None:
    operator = make_operator(database_url).organisation_id
    partner = make_child(database_url, operator).organisation_id
    stranger = make_operator(database_url, name="Other").organisation_id
    mine = make_endpoint(database_url, operator, HOOK, "whsec_x", settings.data_key)
    picky = make_endpoint(database_url, operator, HOOK, "whsec_x", settings.data_key)
    theirs = make_endpoint(database_url, stranger, HOOK, "whsec_x", settings.data_key)
    off = make_endpoint(database_url, operator, HOOK, "whsec_x", settings.data_key)
    with unit_of_work(database_url) as session:
        session.execute(
            update(WebhookEndpoint).where(WebhookEndpoint.id == picky).values(event_types=["payment.failed"])
        )
        session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == off).values(enabled=False))
    cursor = deliveries.cursor_at(utcnow() - timedelta(seconds=1))
    issued = record_event(database_url, partner, new_id("inv"), "invoice.issued")
    failed = record_event(database_url, operator, new_id("pay"), "payment.failed")
    with unit_of_work(database_url) as session:
        fanned = deliveries.fan_out(session, cursor)
    assert fanned.full is False and fanned.cursor is not None and fanned.cursor != cursor
    assert endpoint_ids_for(database_url, issued) == {mine}
    assert endpoint_ids_for(database_url, failed) == {mine, picky}
    assert theirs not in endpoint_ids_for(database_url, issued) | endpoint_ids_for(database_url, failed)
    with unit_of_work(database_url) as session:
        assert deliveries.fan_out(session, cursor).deliveries == 0


def test_an_object_waiting_for_its_next_attempt_is_not_due(settings: Settings, database_url: str) -> None:
    operator = make_operator(database_url).organisation_id
    endpoint = make_endpoint(database_url, operator, HOOK, "whsec_x", settings.data_key)
    invoice = new_id("inv")
    cursor = deliveries.cursor_at(utcnow() - timedelta(seconds=1))
    first = record_event(database_url, operator, invoice, "invoice.issued")
    record_event(database_url, operator, invoice, "invoice.voided")
    now = utcnow() + timedelta(seconds=1)
    with unit_of_work(database_url) as session:
        deliveries.fan_out(session, cursor)
        due = DueObject(endpoint_id=endpoint, object_id=invoice, organisation_id=operator)
        assert due in deliveries.due_objects(session, now)
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.event_id == first, WebhookDelivery.endpoint_id == endpoint)
            .values(attempts=1, next_attempt_at=now + timedelta(minutes=5))
        )
        assert due not in deliveries.due_objects(session, now)
        assert due in deliveries.due_objects(session, now + timedelta(minutes=5))
        found = deliveries.next_delivery(session, due)
        assert found is not None and found.event_id == first


def test_an_endpoint_deleted_during_a_post_leaves_nothing_to_record(database_url: str) -> None:
    now = utcnow()
    outcome = deliveries.Outcome(200, 5, "ok", None)
    with unit_of_work(database_url) as session:
        request = AttemptInput(delivery_id="whd_gone", at=now, retry_at=now)
        deliveries.record_attempt(session, request, outcome)
        assert deliveries.give_up(session, "whd_gone", now) is None
        assert deliveries.outgoing(session, "whd_gone") is None


def fan_out_all(database_url: str, cursor: str) -> str:
    """Fan out page after page until the last page is not full; the cursor reached."""
    while True:
        with unit_of_work(database_url) as session:
            fanned = deliveries.fan_out(session, cursor)
        assert fanned.cursor is not None
        cursor = fanned.cursor
        if not fanned.full:
            return cursor


def test_an_event_whose_transaction_commits_after_a_newer_ones_is_still_delivered(
    settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bill run's pages commit out of id order: the fan-out waits for the older transaction instead
    of passing its event (pages of one event, so the relay's cursor would move past it at once)."""
    monkeypatch.setattr(deliveries, "FAN_OUT_PAGE", 1)
    org = make_operator(database_url).organisation_id
    endpoint = make_endpoint(database_url, org, HOOK, "whsec_" + "cd" * 32, settings.data_key)
    cursor = deliveries.cursor_at(utcnow() - timedelta(seconds=1))
    slow = Session(engine_for(database_url))
    try:
        older = outbox.record(slow, BusinessEvent("invoice.issued", org, "invoice", new_id("inv"), {"n": 1}))
        slow.flush()  # written (its id made first), not committed
        newer = record_event(database_url, org, new_id("inv"))
        assert older < newer
        cursor = fan_out_all(database_url, cursor)
        assert endpoint_ids_for(database_url, newer) == set()  # waits behind the running transaction
        slow.commit()
    finally:
        slow.close()
    fan_out_all(database_url, cursor)
    assert endpoint_ids_for(database_url, older) == {endpoint}
    assert endpoint_ids_for(database_url, newer) == {endpoint}
