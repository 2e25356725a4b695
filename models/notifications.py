"""Notifications: an operator's triggers (which business events notify, how), its templates per channel and
language, each subscriber's preferences, and the log of every message (with its delivery status)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class NotificationTrigger(Base):
    __tablename__ = "notification_triggers"
    __table_args__ = (UniqueConstraint("organisation_id", "event_pattern"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="ntr_…")
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    event_pattern: Mapped[str] = mapped_column(String(64), comment="an event type, a family (ticket.*) or *")
    channels: Mapped[list[str]] = mapped_column(ARRAY(String(16)), comment="email, sms, push; empty: off")
    enabled: Mapped[bool] = mapped_column(default=True)
    marketing: Mapped[bool] = mapped_column(default=False, comment="subscribers may opt out of it")
    ignore_quiet_hours: Mapped[bool] = mapped_column(default=False, comment="legally required notices")
    quiet_start: Mapped[time | None] = mapped_column(comment="local time in the subscriber's time zone")
    quiet_end: Mapped[time | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationTemplate(Base):
    __tablename__ = "notification_templates"
    __table_args__ = (UniqueConstraint("organisation_id", "event_type", "channel", "language"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="ntt_…")
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationPreference(Base):
    __tablename__ = "notification_preferences"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    channels: Mapped[list[str] | None] = mapped_column(
        ARRAY(String(16)), comment="channels the subscriber accepts; null: every channel"
    )
    marketing_opt_out: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationMessage(Base):
    __tablename__ = "notification_messages"
    __table_args__ = (
        CheckConstraint(
            "status in ('queued','sending','sent','sent_unknown','delivered','failed','suppressed')",
            name="status",
        ),
        Index("ix_notification_messages_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_notification_messages_organisation_id_id", "organisation_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="ntm_…")
    key: Mapped[str] = mapped_column(
        String(64), unique=True, comment="one message per (event, trigger, channel, recipient)"
    )
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    account_id: Mapped[str | None] = mapped_column(String(32), index=True)
    event_id: Mapped[str | None] = mapped_column(String(32), comment="the business event (none: direct)")
    event_type: Mapped[str] = mapped_column(String(64))
    trigger_id: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str | None] = mapped_column(String(320))
    template_id: Mapped[str | None] = mapped_column(String(32), comment="none: the built-in default")
    language: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, comment="what to attach: [{kind: invoice_pdf, invoice_id}]"
    )
    status: Mapped[str] = mapped_column(String(16), default="queued")
    suppressed_reason: Mapped[str | None] = mapped_column(String(64))
    provider_message_id: Mapped[str | None] = mapped_column(String(128), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    segments: Mapped[int | None] = mapped_column(comment="SMS segments the text takes")
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    deferred_until: Mapped[datetime | None] = mapped_column(comment="held back by quiet hours until")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
