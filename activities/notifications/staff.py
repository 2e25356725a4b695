"""Messages to staff, not to the subscriber: the supervisor an escalation level of a ticket's category
notifies (``notify_supervisor`` in its escalation policy; activities/care/sla.py names them in
``ticket.escalated``). The fan-out adds one email per such event to the queue's supervisor, whatever the
operator's triggers, the subscriber's preferences or quiet hours (they are the subscriber's); it is logged
(without the account: it is not the subscriber's message) and sent, retried and never sent twice like
every other message (sending.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from activities.notifications import templates
from activities.notifications.templates import Parts
from domain import notifications as rules
from domain.ids import new_id
from domain.notifications import TemplateRejected
from models.base import utcnow
from models.events import EventRecord
from models.notifications import NotificationTemplate
from models.organisations import Organisation

SUPERVISOR_RULE = "escalation:supervisor"
"""The trigger id the supervisor's messages are logged under (no operator trigger makes them)."""


def supervisor_alert(
    event: EventRecord,
    organisation: Organisation,
    at: datetime,
    *,
    own: NotificationTemplate | None = None,
    account: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The email to the supervisor a ``ticket.escalated`` event names (None: no supervisor to tell): from
    ``own``, the operator's ``ticket.escalated`` email template in English, when it has one (the subscriber
    is never told of an escalation, so that template is the supervisor's), else the built-in text;
    ``account`` is the ticket's account as templates see it."""
    data = event.data or {}
    supervisor = data.get("supervisor")
    if event.type != "ticket.escalated" or not supervisor:
        return None
    parts, template_id, error = _built_in(organisation, data, event.object_id), None, None
    if own is not None:
        context = templates.context_for(
            account=account or {"id": data.get("account_id")},
            organisation={"id": organisation.id, "name": organisation.name},
            event={"id": event.id, "type": event.type, "occurred_at": event.occurred_at.isoformat()},
            data=data,
        )
        try:
            parts = templates.render(Parts(own.subject, own.body_text, own.body_html), context)
            template_id = own.id
        except TemplateRejected as exc:
            error = f"template {own.id}: {exc}; sent the built-in text"
    return _row(event, organisation, str(supervisor), parts, template_id, error, at)


def _built_in(organisation: Organisation, data: dict[str, Any], object_id: str) -> Parts:
    ticket, level = data.get("id", object_id), data.get("level")
    subject = f"[{organisation.name}] Ticket {ticket} escalated to level {level} ({data.get('priority')})"
    text = (
        f"Ticket {ticket} of account {data.get('account_id')} has reached escalation level {level} of its "
        f"category's policy.\n\nPriority: {data.get('priority')}\nStatus: {data.get('status')}\n"
        f"Queue: {data.get('queue_id')} (was {data.get('from_queue_id')})\n"
        f"Assignee: {data.get('assignee') or 'nobody'}\n\n"
        f"Open it at /v1/tickets/{ticket}; its SLA process is TicketEscalation (TicketId {ticket}).\n"
    )
    return Parts(subject, text)


def _row(
    event: EventRecord,
    organisation: Organisation,
    supervisor: str,
    parts: Parts,
    template_id: str | None,
    error: str | None,
    at: datetime,
) -> dict[str, Any]:
    return {
        "id": new_id("ntm"),
        "key": rules.message_key(event.id, SUPERVISOR_RULE, "email", supervisor),
        "organisation_id": organisation.id,
        "account_id": None,  # staff's message: never in the subscriber's own log (find it by event_id)
        "event_id": event.id,
        "event_type": event.type,
        "trigger_id": SUPERVISOR_RULE,
        "channel": "email",
        "recipient": supervisor,
        "template_id": template_id,
        "language": "en",
        "subject": parts.subject,
        "body_text": parts.text,
        "body_html": parts.html,
        "attachments": [],
        "status": "queued",
        "suppressed_reason": None,
        "attempts": 0,
        "segments": None,
        "next_attempt_at": at,
        "deferred_until": None,
        "last_error": error,
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }
