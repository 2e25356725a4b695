"""Messages to staff, not to the subscriber: the supervisor an escalation level of a ticket's category
notifies (``notify_supervisor`` in its escalation policy; activities/care/sla.py names them in
``ticket.escalated``). The fan-out adds one email per such event to the queue's supervisor, whatever the
operator's triggers, the subscriber's preferences or quiet hours (they are the subscriber's); it is logged
(without the account: it is not the subscriber's message) and sent, retried and never sent twice like
every other message (sending.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain import notifications as rules
from domain.ids import new_id
from models.base import utcnow
from models.events import EventRecord
from models.organisations import Organisation

SUPERVISOR_RULE = "escalation:supervisor"
"""The trigger id the supervisor's messages are logged under (no operator trigger makes them)."""


def supervisor_alert(event: EventRecord, organisation: Organisation, at: datetime) -> dict[str, Any] | None:
    """The email to the supervisor a ``ticket.escalated`` event names (None: no supervisor to tell)."""
    data = event.data or {}
    supervisor = data.get("supervisor")
    if event.type != "ticket.escalated" or not supervisor:
        return None
    ticket, level = data.get("id", event.object_id), data.get("level")
    subject = f"[{organisation.name}] Ticket {ticket} escalated to level {level} ({data.get('priority')})"
    text = (
        f"Ticket {ticket} of account {data.get('account_id')} has reached escalation level {level} of its "
        f"category's policy.\n\nPriority: {data.get('priority')}\nStatus: {data.get('status')}\n"
        f"Queue: {data.get('queue_id')} (was {data.get('from_queue_id')})\n"
        f"Assignee: {data.get('assignee') or 'nobody'}\n\n"
        f"Open it at /v1/tickets/{ticket}; its SLA process is TicketEscalation (TicketId {ticket}).\n"
    )
    return {
        "id": new_id("ntm"),
        "key": rules.message_key(event.id, SUPERVISOR_RULE, "email", str(supervisor)),
        "organisation_id": organisation.id,
        "account_id": None,  # staff's message: never in the subscriber's own log (find it by event_id)
        "event_id": event.id,
        "event_type": event.type,
        "trigger_id": SUPERVISOR_RULE,
        "channel": "email",
        "recipient": str(supervisor),
        "template_id": None,
        "language": "en",
        "subject": subject,
        "body_text": text,
        "body_html": None,
        "attachments": [],
        "status": "queued",
        "suppressed_reason": None,
        "attempts": 0,
        "segments": None,
        "next_attempt_at": at,
        "deferred_until": None,
        "last_error": None,
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }
