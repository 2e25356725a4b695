"""An organisation's webhook endpoints: create (with a sealed secret), edit, delete, read, and the
deliveries made to one, with a hand redelivery. One transaction each (the caller's session)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import webhooks
from domain.ids import new_id
from domain.principal import Principal
from domain.sepa_vault import IbanVault
from models.base import utcnow
from models.events import EventRecord
from models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@dataclass(frozen=True)
class EndpointSpec:
    """What a caller sets on an endpoint (checked by domain/webhooks.py first)."""

    url: str
    event_types: list[str]
    enabled: bool


def create_endpoint(
    session: Session, principal: Principal, spec: EndpointSpec, vault: IbanVault
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of the caller's organisation and its signing secret (stored sealed only)."""
    endpoint_id = new_id("whe")
    secret = webhooks.new_secret()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        organisation_id=principal.organisation_id,
        url=spec.url,
        event_types=spec.event_types,
        enabled=spec.enabled,
        secret_sealed=vault.seal(secret, endpoint_id),
        created_at=utcnow(),
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def find_endpoint(
    session: Session, principal: Principal, endpoint_id: str, *, lock: bool = False
) -> WebhookEndpoint | None:
    """The caller's organisation's endpoint ``endpoint_id``, else None."""
    endpoint = session.get(WebhookEndpoint, endpoint_id, with_for_update=lock)
    if endpoint is None or endpoint.organisation_id != principal.organisation_id:
        return None
    return endpoint


def list_endpoints(session: Session, principal: Principal) -> Sequence[WebhookEndpoint]:
    """The caller's organisation's endpoints, oldest first."""
    stmt = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.organisation_id == principal.organisation_id)
        .order_by(WebhookEndpoint.id)
    )
    return session.execute(stmt).scalars().all()


def update_endpoint(
    endpoint: WebhookEndpoint, url: str | None, event_types: list[str] | None, enabled: bool | None
) -> WebhookEndpoint:
    """Apply the given changes; enabling an endpoint clears its failing streak and disabled reason."""
    if url is not None:
        endpoint.url = url
    if event_types is not None:
        endpoint.event_types = event_types
    if enabled is not None:
        if enabled and not endpoint.enabled:
            endpoint.failing_since = None
            endpoint.disabled_reason = None
        endpoint.enabled = enabled
    return endpoint


@dataclass(frozen=True)
class DeliveryView:
    """A delivery with its event's type and its attempts, oldest first."""

    delivery: WebhookDelivery
    event_type: str
    attempts: list[WebhookAttempt]


def deliveries_of(
    session: Session, endpoint: WebhookEndpoint, *, delivery_id: str | None = None, limit: int = 100
) -> list[DeliveryView]:
    """The endpoint's latest deliveries (newest event first), or the one ``delivery_id``, each with its
    attempt log."""
    stmt = (
        select(WebhookDelivery, EventRecord.type)
        .join(EventRecord, EventRecord.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.event_id.desc())
        .limit(limit)
    )
    if delivery_id is not None:
        stmt = stmt.where(WebhookDelivery.id == delivery_id)
    views = [DeliveryView(delivery, event_type, []) for delivery, event_type in session.execute(stmt).all()]
    by_id = {view.delivery.id: view for view in views}
    if by_id:
        attempts = session.execute(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(by_id)).order_by(WebhookAttempt.id)
        ).scalars()
        for attempt in attempts:
            by_id[attempt.delivery_id].attempts.append(attempt)
    return views


def redeliver(session: Session, endpoint: WebhookEndpoint, delivery_id: str) -> WebhookDelivery | None:
    """Send the delivery again (pending, due now); None when it is not the endpoint's."""
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        return None
    delivery.status = "pending"
    delivery.next_attempt_at = utcnow()
    return delivery
