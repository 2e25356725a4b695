"""The business events of payments: succeeded, failed (declined or returned) and refunded."""

from __future__ import annotations

from sqlalchemy.orm import Session

from activities.events.outbox import record
from activities.events.snapshots import account_organisation, payment_data
from domain.events import BusinessEvent
from models.payments import Payment


def record_payment_event(session: Session, event_type: str, payment: Payment, **extra: object) -> str:
    """Record ``event_type`` about ``payment`` (its snapshot after the change, plus ``extra``)."""
    event = BusinessEvent(
        event_type,
        account_organisation(session, payment.account_id),
        "payment",
        payment.id,
        {**payment_data(payment), **extra},
    )
    return record(session, event)
