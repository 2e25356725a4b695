"""An operator's notification triggers and templates, and a subscriber's preferences: the transaction
scripts the API's plain edits use (and the later ``/v1/me/...`` API can: they take an account, not a
principal, where the subscriber is the caller)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from activities.notifications import templates
from activities.notifications.templates import Parts
from domain.ids import new_id
from domain.notifications import CHANNELS
from models.base import utcnow
from models.notifications import NotificationPreference, NotificationTemplate, NotificationTrigger


@dataclass(frozen=True)
class TriggerSpec:
    event_pattern: str
    channels: list[str]
    enabled: bool = True
    marketing: bool = False
    ignore_quiet_hours: bool = False
    quiet_start: time | None = None
    quiet_end: time | None = None


def save_trigger(session: Session, organisation_id: str, spec: TriggerSpec) -> NotificationTrigger:
    """Create or replace the operator's trigger for ``spec.event_pattern`` (one per pattern)."""
    values: dict[str, Any] = {
        "channels": [c for c in CHANNELS if c in spec.channels],
        "enabled": spec.enabled,
        "marketing": spec.marketing,
        "ignore_quiet_hours": spec.ignore_quiet_hours,
        "quiet_start": spec.quiet_start,
        "quiet_end": spec.quiet_end,
        "updated_at": utcnow(),
    }
    stmt = insert(NotificationTrigger).values(
        id=new_id("ntr"),
        organisation_id=organisation_id,
        event_pattern=spec.event_pattern,
        created_at=utcnow(),
        **values,
    )
    trigger_id = session.execute(
        stmt.on_conflict_do_update(
            index_elements=["organisation_id", "event_pattern"], set_=values
        ).returning(NotificationTrigger.id)
    ).scalar_one()
    session.expire_all()
    trigger = session.get(NotificationTrigger, trigger_id)
    assert trigger is not None
    return trigger


def triggers_of(session: Session, organisation_id: str) -> list[NotificationTrigger]:
    stmt = (
        select(NotificationTrigger)
        .where(NotificationTrigger.organisation_id == organisation_id)
        .order_by(NotificationTrigger.event_pattern)
    )
    return list(session.execute(stmt).scalars())


@dataclass(frozen=True)
class TemplateSpec:
    event_type: str
    channel: str
    language: str
    subject: str
    body_text: str
    body_html: str | None = None
    sample_data: dict[str, Any] | None = None


def save_template(session: Session, organisation_id: str, spec: TemplateSpec) -> NotificationTemplate:
    """Check the template against the sample data (``TemplateRejected`` with line and reason: nothing is
    written), then create or replace the operator's template of (event type, channel, language)."""
    templates.check(
        Parts(spec.subject, spec.body_text, spec.body_html), spec.event_type, spec.sample_data, spec.language
    )
    values: dict[str, Any] = {
        "subject": spec.subject,
        "body_text": spec.body_text,
        "body_html": spec.body_html,
        "updated_at": utcnow(),
    }
    stmt = insert(NotificationTemplate).values(
        id=new_id("ntt"),
        organisation_id=organisation_id,
        event_type=spec.event_type,
        channel=spec.channel,
        language=spec.language,
        **values,
    )
    template_id = session.execute(
        stmt.on_conflict_do_update(
            index_elements=["organisation_id", "event_type", "channel", "language"], set_=values
        ).returning(NotificationTemplate.id)
    ).scalar_one()
    session.expire_all()
    template = session.get(NotificationTemplate, template_id)
    assert template is not None
    return template


def templates_of(session: Session, organisation_id: str) -> list[NotificationTemplate]:
    stmt = (
        select(NotificationTemplate)
        .where(NotificationTemplate.organisation_id == organisation_id)
        .order_by(
            NotificationTemplate.event_type, NotificationTemplate.channel, NotificationTemplate.language
        )
    )
    return list(session.execute(stmt).scalars())


@dataclass(frozen=True)
class Preferences:
    account_id: str
    channels: list[str] | None
    marketing_opt_out: bool


def preferences_of(session: Session, account_id: str) -> Preferences:
    """The subscriber's choices (every channel, marketing accepted, until they say otherwise)."""
    row = session.get(NotificationPreference, account_id)
    if row is None:
        return Preferences(account_id, None, False)
    return Preferences(account_id, row.channels, row.marketing_opt_out)


def set_preferences(
    session: Session, account_id: str, channels: list[str] | None, marketing_opt_out: bool
) -> Preferences:
    """Replace the subscriber's choices (``channels`` None: every channel)."""
    chosen = [c for c in CHANNELS if c in channels] if channels is not None else None
    values = {"channels": chosen, "marketing_opt_out": marketing_opt_out, "updated_at": utcnow()}
    session.execute(
        insert(NotificationPreference)
        .values(account_id=account_id, **values)
        .on_conflict_do_update(index_elements=["account_id"], set_=values)
    )
    return Preferences(account_id, chosen, marketing_opt_out)
