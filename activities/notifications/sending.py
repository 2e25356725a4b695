"""Sending due messages (the NotificationRelay's second step), in two transactions around the sends.

Never twice: a message is claimed first (``sending``, one more attempt, committed) and only then sent;
the outcome is recorded after. SMTP has no idempotency, so a message found still ``sending`` after the
lease (the worker died between the send and the record) is NOT sent again: it becomes ``sent_unknown``
(maybe sent) for staff to see, because a missing notice is better than a duplicate bill in the inbox;
the unique key per (event, trigger, channel, recipient) is the last guard against a second row. A
temporary failure (``NotifierUnavailable``: the peer surely did not take it) is queued again after a
growing back-off, a refusal (``MessageRejected``) fails the message, as do ``MAX_ATTEMPTS`` failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from domain.notifications import MAX_ATTEMPTS, retry_delay
from models.base import utcnow
from models.notifications import NotificationMessage

BATCH = 100
LEASE = timedelta(minutes=10)
"""Longer than a send step's timeout: a message ``sending`` for longer was left by a dead worker."""


@dataclass(frozen=True)
class Outgoing:
    id: str
    organisation_id: str
    channel: str
    recipient: str
    subject: str
    text: str
    html: str | None
    attachments: list[dict[str, Any]] = field(default_factory=list)


def sweep_abandoned(session: Session) -> int:
    """Messages left ``sending`` past the lease become ``sent_unknown`` (never sent again)."""
    result = session.execute(
        update(NotificationMessage)
        .where(NotificationMessage.status == "sending", NotificationMessage.updated_at < utcnow() - LEASE)
        .values(status="sent_unknown", updated_at=utcnow(), last_error="outcome unknown: not sent again")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def claim(session: Session, at: datetime, limit: int = BATCH) -> list[Outgoing]:
    """Take the queued messages due at ``at`` (oldest first), marking them ``sending``."""
    rows = list(
        session.execute(
            select(NotificationMessage)
            .where(NotificationMessage.status == "queued", NotificationMessage.next_attempt_at <= at)
            .order_by(NotificationMessage.next_attempt_at, NotificationMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    out = []
    for m in rows:
        m.status, m.attempts, m.updated_at = "sending", m.attempts + 1, utcnow()
        out.append(
            Outgoing(
                m.id,
                m.organisation_id,
                m.channel,
                m.recipient or "",
                m.subject,
                m.body_text,
                m.body_html,
                list(m.attachments or []),
            )
        )
    return out


@dataclass(frozen=True)
class Result:
    """What a send got: ``sent`` (with the provider's id), ``retry`` (temporary), or ``failed``."""

    outcome: str
    provider_message_id: str | None = None
    error: str | None = None


def record(session: Session, at: datetime, message_id: str, result: Result) -> str:
    """Record a send's outcome; what the message became (a report may have said ``delivered`` already)."""
    m = session.get(NotificationMessage, message_id, with_for_update=True)
    if m is None:
        return "gone"
    m.updated_at = utcnow()
    if m.status != "sending":  # a delivery report came first: keep what it said
        if result.provider_message_id and not m.provider_message_id:
            m.provider_message_id = result.provider_message_id
        return m.status
    if result.outcome == "sent":
        m.status, m.provider_message_id, m.last_error = "sent", result.provider_message_id, None
    elif result.outcome == "retry" and m.attempts < MAX_ATTEMPTS:
        m.status, m.last_error = "queued", result.error
        m.next_attempt_at = at + retry_delay(m.attempts)
        return "retry"
    elif result.outcome == "unknown":
        m.status, m.last_error = "sent_unknown", result.error
    else:
        m.status, m.last_error = "failed", result.error
    return m.status


def next_due(session: Session) -> datetime | None:
    return session.execute(
        select(func.min(NotificationMessage.next_attempt_at)).where(NotificationMessage.status == "queued")
    ).scalar_one()
