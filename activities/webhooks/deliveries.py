"""Webhook deliveries in the database: fanning events out to endpoints, what is due, recording attempts.

Each function is one transaction's work (the caller's session). The HTTP call itself happens between
two of them (activities/webhooks/sending.py), never inside a transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, cast, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from activities.webhooks.io import AttemptInput, DueObject, FanOut, NextDelivery
from domain import webhooks
from domain.ids import new_id
from models.base import utcnow
from models.events import EventRecord
from models.organisations import Organisation
from models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint

FAN_OUT_PAGE = 1000
LATE_COMMIT_WINDOW = timedelta(seconds=60)
"""With no endpoint yet, the relay's first cursor is this long ago."""
DUE_PAGE = 500


def cursor_at(moment: datetime) -> str:
    """A time bound: every event id made at or after ``moment`` sorts after it."""
    return new_id("evt", now_ms=int(moment.timestamp() * 1000))[: len("evt_") + 10]


def commit_position(txid: str, event_id: str) -> str:
    """The relay's cursor after an event: ``<txid>:<event id>`` in (transaction, id) order."""
    return f"{txid}:{event_id}"


def _position(cursor: str) -> tuple[str, str] | None:
    txid, sep, event_id = cursor.partition(":")
    return (txid, event_id) if sep and txid.isdigit() else None


def fan_out(session: Session, cursor: str | None) -> FanOut:
    """Deliveries for the events after ``cursor`` to every enabled endpoint of the event's organisation
    or one above it that listens to its type and existed when it occurred (a repeat adds nothing).

    Events are walked in (writing transaction, id) order, and only those written by transactions older
    than the oldest one still running (``pg_snapshot_xmin``): an event's id is made before its
    transaction commits, and transactions commit out of id order (a bill run's parallel pages), so a
    walk by id alone could pass an event that commits a moment later and never deliver it. Below the
    horizon every transaction has ended, so no event can appear behind the cursor.

    ``cursor`` is a position (``<txid>:<event id>``, what this returns), or a time bound (an event id or
    its time prefix, ``cursor_at``). Without one (the relay's first run) it starts at the oldest enabled
    endpoint's creation, or a moment ago when there is none: no endpoint receives events from before it
    existed.
    """
    if cursor is None:
        oldest = session.execute(
            select(func.min(WebhookEndpoint.created_at)).where(WebhookEndpoint.enabled.is_(True))
        ).scalar_one()
        cursor = cursor_at(oldest if oldest is not None else utcnow() - LATE_COMMIT_WINDOW)
    horizon = session.execute(text("select pg_snapshot_xmin(pg_current_snapshot())::text")).scalar_one()
    stmt = (
        select(EventRecord, Organisation.path, cast(EventRecord.txid, Text).label("txid_text"))
        .join(Organisation, Organisation.id == EventRecord.organisation_id)
        .where(text("business_events.txid < cast(:horizon as xid8)").bindparams(horizon=horizon))
        .order_by(EventRecord.txid, EventRecord.id)
        .limit(FAN_OUT_PAGE)
    )
    position = _position(cursor)
    if position is None:
        stmt = stmt.where(EventRecord.id > cursor)
    else:
        after = text("(business_events.txid, business_events.id) > (cast(:after_txid as xid8), :after_id)")
        stmt = stmt.where(after.bindparams(after_txid=position[0], after_id=position[1]))
    events = list(session.execute(stmt).all())
    endpoints = list(
        session.execute(
            select(WebhookEndpoint, Organisation.path)
            .join(Organisation, Organisation.id == WebhookEndpoint.organisation_id)
            .where(WebhookEndpoint.enabled.is_(True))
        ).all()
    )
    rows: list[dict[str, Any]] = [
        {
            "id": new_id("whd"),
            "endpoint_id": endpoint.id,
            "event_id": event.id,
            "object_id": event.object_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": event.occurred_at,
            "created_at": utcnow(),
        }
        for event, event_path, _ in events
        for endpoint, endpoint_path in endpoints
        if event_path.startswith(endpoint_path)
        and webhooks.subscribed(endpoint.event_types, event.type)
        and event.occurred_at >= endpoint.created_at
    ]
    created = 0
    if rows:
        result = session.execute(
            insert(WebhookDelivery).values(rows).on_conflict_do_nothing().returning(WebhookDelivery.id)
        )
        created = len(result.all())
    if not events:
        return FanOut(cursor=cursor, deliveries=0)
    last, _, last_txid = events[-1]
    return FanOut(
        cursor=commit_position(last_txid, last.id), deliveries=created, full=len(events) == FAN_OUT_PAGE
    )


def due_objects(session: Session, at: datetime) -> list[DueObject]:
    """The (endpoint, object) pairs with a pending delivery due at ``at`` on an enabled endpoint, but
    none waiting for its next attempt (its WebhookDelivery runs and takes the newer ones after it)."""
    waiting = aliased(WebhookDelivery)
    in_backoff = (
        select(waiting.id)
        .where(
            waiting.endpoint_id == WebhookDelivery.endpoint_id,
            waiting.object_id == WebhookDelivery.object_id,
            waiting.status == "pending",
            waiting.attempts > 0,
            waiting.next_attempt_at > at,
        )
        .exists()
    )
    stmt = (
        select(WebhookDelivery.endpoint_id, WebhookDelivery.object_id, WebhookEndpoint.organisation_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= at,
            WebhookEndpoint.enabled.is_(True),
            ~in_backoff,
        )
        .distinct()
        .limit(DUE_PAGE)
    )
    return [
        DueObject(endpoint_id=endpoint_id, object_id=object_id, organisation_id=organisation_id)
        for endpoint_id, object_id, organisation_id in session.execute(stmt).all()
    ]


def next_delivery(session: Session, due: DueObject) -> NextDelivery | None:
    """The oldest pending delivery of the object at the endpoint, while the endpoint is enabled."""
    endpoint = session.get(WebhookEndpoint, due.endpoint_id)
    if endpoint is None or not endpoint.enabled:
        return None
    delivery = session.execute(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == due.endpoint_id,
            WebhookDelivery.object_id == due.object_id,
            WebhookDelivery.status == "pending",
        )
        .order_by(WebhookDelivery.event_id)
        .limit(1)
    ).scalar_one_or_none()
    if delivery is None:
        return None
    return NextDelivery(delivery_id=delivery.id, event_id=delivery.event_id)


def event_payload(event: EventRecord) -> dict[str, Any]:
    """The JSON an endpoint receives for an event."""
    return {
        "id": event.id,
        "type": event.type,
        "api_version": event.api_version,
        "occurred_at": event.occurred_at.isoformat(),
        "organisation_id": event.organisation_id,
        "object": {"type": event.object_type, "id": event.object_id},
        "data": event.data,
    }


@dataclass(frozen=True)
class Outgoing:
    """One attempt to make: where, with which sealed secret, what."""

    delivery_id: str
    endpoint_id: str
    url: str
    secret_sealed: str
    event_id: str
    payload: dict[str, Any]


def outgoing(session: Session, delivery_id: str) -> Outgoing | None:
    """The attempt to make for a pending delivery of an enabled endpoint, else None."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != "pending":
        return None
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    event = session.get(EventRecord, delivery.event_id)
    if event is None:  # past the events' retention: nothing left to send
        delivery.status = "failed"
        return None
    if endpoint is None or not endpoint.enabled:
        return None
    return Outgoing(
        delivery.id, endpoint.id, endpoint.url, endpoint.secret_sealed, event.id, event_payload(event)
    )


@dataclass(frozen=True)
class Outcome:
    """What an attempt got back."""

    status_code: int | None
    latency_ms: int
    excerpt: str | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _locked(session: Session, delivery_id: str) -> tuple[WebhookEndpoint | None, WebhookDelivery | None]:
    """The delivery and its endpoint, locked endpoint first (as a DELETE of the endpoint locks them)."""
    endpoint_id = session.execute(
        select(WebhookDelivery.endpoint_id).where(WebhookDelivery.id == delivery_id)
    ).scalar_one_or_none()
    if endpoint_id is None:
        return None, None
    endpoint = session.get(WebhookEndpoint, endpoint_id, with_for_update=True)
    return endpoint, session.get(WebhookDelivery, delivery_id, with_for_update=True)


def record_attempt(session: Session, request: AttemptInput, outcome: Outcome) -> None:
    """Log the attempt; a success closes the delivery and clears the endpoint's failing streak, a failure
    schedules the next attempt at ``retry_at`` and starts the streak (``failing_since``) if none runs."""
    endpoint, delivery = _locked(session, request.delivery_id)
    if delivery is None or endpoint is None:
        return  # the endpoint was deleted while the POST was under way: nothing left to record
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            attempted_at=utcnow(),
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            response_excerpt=outcome.excerpt,
            error=outcome.error,
        )
    )
    delivery.attempts += 1
    if outcome.delivered:
        delivery.status = "succeeded"
        endpoint.failing_since = None
    else:
        delivery.next_attempt_at = request.retry_at
        if endpoint.failing_since is None:
            endpoint.failing_since = request.at


def give_up(session: Session, delivery_id: str, at: datetime) -> WebhookEndpoint | None:
    """Mark the delivery failed; the endpoint if this disabled it (failing for longer than the window)."""
    endpoint, delivery = _locked(session, delivery_id)
    if delivery is None or endpoint is None:
        return None
    if delivery.status == "pending":
        delivery.status = "failed"
    if not endpoint.enabled or endpoint.failing_since is None:
        return None
    if at - endpoint.failing_since < webhooks.DELIVERY_WINDOW:
        return None
    endpoint.enabled = False
    endpoint.disabled_reason = (
        f"deliveries failed continuously since {endpoint.failing_since.isoformat()} "
        f"(more than {webhooks.DELIVERY_WINDOW.days} days)"
    )
    return endpoint
