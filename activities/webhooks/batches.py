"""Sending an endpoint's due deliveries in batches (the WebhookSender's step), in three transactions
around the HTTP calls: pick the batch, (POST them all at once, outside any transaction), record.

A batch holds, for each object, only its oldest pending delivery, and only when that one is due: an object's
events still reach the endpoint in order, while different objects' go out together. A failed attempt is
tried again after ``domain.webhooks.retry_delay`` of its failures (30 s doubling to 6 h); one whose retries
have waited the whole ``DELIVERY_WINDOW`` (3 days; counted from its backoff, so the same on any clock) is
given up, which disables an endpoint that has failed that long (``deliveries.give_up``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from activities.webhooks.deliveries import Outcome, Outgoing, give_up, outgoing, record_attempt
from activities.webhooks.io import AttemptInput, DueEndpoint
from domain import webhooks
from models.webhooks import WebhookDelivery, WebhookEndpoint

BATCH = 200
"""Deliveries one batch sends at most (the activity POSTs them ``SEND_THREADS`` at a time)."""


def due_endpoints(session: Session, at: datetime) -> list[DueEndpoint]:
    """The enabled endpoints with a pending delivery due at ``at``."""
    rows = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.organisation_id)
        .where(
            WebhookEndpoint.enabled.is_(True),
            exists().where(
                WebhookDelivery.endpoint_id == WebhookEndpoint.id,
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= at,
            ),
        )
        .order_by(WebhookEndpoint.id)
    ).all()
    return [DueEndpoint(endpoint_id=e, organisation_id=o) for e, o in rows]


def _heads(endpoint_id: str) -> list[ColumnElement[bool]]:
    """The endpoint's pending deliveries that are the oldest pending one of their object."""
    earlier = aliased(WebhookDelivery)
    return [
        WebhookDelivery.endpoint_id == endpoint_id,
        WebhookDelivery.status == "pending",
        ~exists().where(
            and_(
                earlier.endpoint_id == WebhookDelivery.endpoint_id,
                earlier.object_id == WebhookDelivery.object_id,
                earlier.status == "pending",
                earlier.event_id < WebhookDelivery.event_id,
            )
        ),
    ]


def due_batch(session: Session, endpoint_id: str, at: datetime, limit: int = BATCH) -> list[Outgoing]:
    """The attempts to make now: of each object, its oldest pending delivery if it is due (at most
    ``limit``, the longest waiting first). Nothing when the endpoint is disabled or gone."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or not endpoint.enabled:
        return []
    ids = session.execute(
        select(WebhookDelivery.id)
        .where(*_heads(endpoint_id), WebhookDelivery.next_attempt_at <= at)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.event_id)
        .limit(limit)
    ).scalars()
    found = [outgoing(session, delivery_id) for delivery_id in ids]
    return [o for o in found if o is not None]


def record_batch(
    session: Session, at: datetime, results: list[tuple[Outgoing, Outcome]]
) -> tuple[int, list[str]]:
    """Record each attempt (a failure is tried again after its backoff); the failures, and the deliveries
    given up (failing for the whole window)."""
    failures = 0
    expired: list[str] = []
    for out, outcome in results:
        delivery = session.get(WebhookDelivery, out.delivery_id)
        if delivery is None:
            continue
        retry_at = at + webhooks.retry_delay(delivery.attempts + 1)
        record_attempt(session, AttemptInput(delivery_id=out.delivery_id, at=at, retry_at=retry_at), outcome)
        if not outcome.delivered:
            failures += 1
            waited = sum((webhooks.retry_delay(n) for n in range(1, delivery.attempts)), timedelta(0))
            if waited >= webhooks.DELIVERY_WINDOW:  # retried for the whole window: no more
                expired.append(out.delivery_id)
    return failures, expired


def give_up_expired(session: Session, at: datetime, expired: list[str]) -> WebhookEndpoint | None:
    """Give the expired deliveries up; the endpoint if that disabled it."""
    disabled = None
    for delivery_id in expired:
        disabled = give_up(session, delivery_id, at) or disabled
    return disabled


def next_due(session: Session, endpoint_id: str) -> datetime | None:
    """When the endpoint's next delivery is due: the earliest of its objects' oldest pending ones (None:
    nothing pending, or the endpoint is off)."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or not endpoint.enabled:
        return None
    return session.execute(
        select(func.min(WebhookDelivery.next_attempt_at)).where(*_heads(endpoint_id))
    ).scalar_one()
