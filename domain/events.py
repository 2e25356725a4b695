"""Business events: what happened to which object, recorded once in the transaction that made it happen.

An event is the platform's public record of a business change (the transactional outbox): integrators
read them at ``GET /v1/events`` and receive them at their webhook endpoints. Its ``type`` is one of
``EVENT_TYPES``; its ``data`` is a snapshot of the object as the API shows it, at ``API_VERSION``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

API_VERSION = "2026-11-30"
"""The shape of ``data`` snapshots; a change to a snapshot's shape gets a new version."""

RETENTION_DAYS = 90
"""How long events are kept (``GET /v1/events`` answers within that window)."""

EVENT_TYPES: frozenset[str] = frozenset(
    {
        "account.created",
        "account.verified",
        "subscription.activated",
        "subscription.changed",
        "subscription.suspended",
        "subscription.resumed",
        "subscription.terminated",
        "invoice.issued",
        "invoice.voided",
        "credit_note.issued",
        "payment.succeeded",
        "payment.failed",
        "payment.refunded",
        "dunning.step",
        "wallet.low_balance",
        "wallet.topped_up",
        "provisioning.failed",
        "device.dispatched",
        "device.returned",
        "device.lost_stolen",
        "device.swapped",
        "billing_run.completed",
        "partner.signup_link",
        "partner.activated",
        "partner.ended",
        "partner.failed",
        "partner.settled",
        "partner_charge.accepted",
        "partner_charge.declined",
        "ticket.created",
        "ticket.updated",
        "ticket.sla_warning",
        "ticket.breached",
        "ticket.escalated",
        "notification.message",
        "segment.refreshed",
        "offer.redeemed",
        "loyalty.awarded",
        "loyalty.points_redeemed",
        "loyalty.points_expired",
        "loyalty.points_reversed",
    }
)


class UnknownEventType(ValueError):
    """A type outside ``EVENT_TYPES`` (a bug in the caller, never the user's input)."""


@dataclass(frozen=True)
class BusinessEvent:
    """One event to record: ``object_type``/``object_id`` name the object, ``data`` is its snapshot."""

    type: str
    organisation_id: str
    object_type: str
    object_id: str
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise UnknownEventType(f"{self.type!r} is not a business event type; see domain/events.py")
