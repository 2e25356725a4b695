"""Webhook test data: business events recorded through the outbox, endpoints and deliveries in the
database, and the delivery activities with a short HTTP timeout."""

from __future__ import annotations

from sqlalchemy.orm import Session

from activities.events import outbox
from domain import webhooks
from domain.events import BusinessEvent
from domain.ids import new_id
from models.base import unit_of_work
from models.webhooks import WebhookDelivery, WebhookEndpoint


def record_event(
    database_url: str, organisation_id: str, object_id: str, kind: str = "invoice.issued"
) -> str:
    """Record one business event of ``object_id`` (committed); its id."""
    with unit_of_work(database_url) as session:
        return outbox.record(
            session,
            BusinessEvent(
                type=kind,
                organisation_id=organisation_id,
                object_type=kind.split(".")[0],
                object_id=object_id,
                data={"id": object_id, "kind": kind},
            ),
        )


def make_endpoint(database_url: str, organisation_id: str, url: str, secret: str, data_key: str) -> str:
    """An enabled endpoint listening to every type, with ``secret``; its id."""
    endpoint_id = new_id("whe")
    with unit_of_work(database_url) as session:
        session.add(
            WebhookEndpoint(
                id=endpoint_id,
                organisation_id=organisation_id,
                url=url,
                event_types=[],
                enabled=True,
                secret_sealed=webhooks.secret_vault(data_key).seal(secret, endpoint_id),
            )
        )
    return endpoint_id


def webhook_delivery(session: Session, endpoint_id: str, organisation_id: str) -> str:
    """A pending delivery to the endpoint of a new event (in the caller's transaction); its id."""
    object_id = new_id("inv")
    event_id = outbox.record(
        session,
        BusinessEvent(
            type="invoice.issued", organisation_id=organisation_id, object_type="invoice", object_id=object_id
        ),
    )
    delivery_id = new_id("whd")
    session.add(
        WebhookDelivery(id=delivery_id, endpoint_id=endpoint_id, event_id=event_id, object_id=object_id)
    )
    session.flush()
    return delivery_id
