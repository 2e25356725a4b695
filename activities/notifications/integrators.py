"""The ``webhook`` channel: a claimed message handed to the operator's integrators as a
``notification.message`` business event, in the transaction that marks it sent, so it is handed over once
(the outbox; the webhook relay delivers it to every endpoint subscribed, with its own retries). The event
carries the rendered message and whom it is for; the integrator's app delivers it on its own channel."""

from __future__ import annotations

from sqlalchemy.orm import Session

from activities.events import outbox
from activities.notifications.sending import Outgoing
from domain.events import BusinessEvent
from domain.notifications import MESSAGE_EVENT
from models.base import utcnow
from models.notifications import NotificationMessage


def hand_over(session: Session, out: Outgoing) -> str:
    """Record the message's event and mark it sent (the event's id is the provider id); what it became."""
    message = session.get(NotificationMessage, out.id, with_for_update=True)
    if message is None:
        return "gone"
    if message.status != "sending":  # handed over already (a retried step): never twice
        return message.status
    data = {
        "id": message.id,
        "account_id": message.account_id,
        "about_event_id": message.event_id,
        "about_event_type": message.event_type,
        "language": message.language,
        "subject": message.subject,
        "body_text": message.body_text,
        "body_html": message.body_html,
    }
    event_id = outbox.record(
        session,
        BusinessEvent(MESSAGE_EVENT, message.organisation_id, "notification", message.id, data),
    )
    message.status, message.provider_message_id, message.last_error = "sent", event_id, None
    message.updated_at = utcnow()
    return "sent"
