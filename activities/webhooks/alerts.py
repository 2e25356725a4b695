"""Telling an organisation that one of its webhook endpoints was disabled (it failed for days).

The notice goes to the endpoint organisation's contact email, or to the nearest organisation above it that
has one (an outlet's operator). With nobody to write to, the endpoint's state and a log line are all there is.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.notify.base import EmailMessageSpec
from models.organisations import Organisation
from models.webhooks import WebhookEndpoint


def contact_of(session: Session, organisation_id: str) -> str | None:
    """The contact email of the organisation, else of its nearest ancestor that has one."""
    org = session.get(Organisation, organisation_id)
    if org is None:
        return None
    ancestors = [part for part in org.path.split("/") if part]
    found = {
        o.id: o.contact_email
        for o in session.execute(select(Organisation).where(Organisation.id.in_(ancestors))).scalars()
    }
    for ancestor in reversed(ancestors):
        if found.get(ancestor):
            return found[ancestor]
    return None


def disabled_notice(session: Session, endpoint: WebhookEndpoint) -> EmailMessageSpec | None:
    """The email telling the owner that ``endpoint`` was disabled; None when nobody can be told."""
    to = contact_of(session, endpoint.organisation_id)
    if to is None:
        return None
    since = endpoint.failing_since.isoformat() if endpoint.failing_since else "unknown"
    stamp = int(endpoint.failing_since.timestamp()) if endpoint.failing_since else 0
    text = (
        f"Your webhook endpoint {endpoint.id} ({endpoint.url}) has been disabled.\n\n"
        f"Why: {endpoint.disabled_reason}.\n"
        f"Deliveries to it have failed since {since}; no more events are sent to it.\n\n"
        "What to do: fix the receiver, then enable the endpoint again with\n"
        f'  PATCH /v1/webhook-endpoints/{endpoint.id}  {{"enabled": true}}\n'
        "and redeliver what it missed with\n"
        f"  POST /v1/webhook-endpoints/{endpoint.id}/deliveries/{{delivery_id}}/redeliver\n"
    )
    return EmailMessageSpec(
        to=to,
        subject=f"Webhook endpoint {endpoint.id} disabled after failing for days",
        text=text,
        message_id=f"<webhook-endpoint-disabled.{endpoint.id}.{stamp}@multibill.local>",
    )
