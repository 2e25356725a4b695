"""Customer care: business calendars, ticket queues and categories (the operator's configuration), tickets,
their append-only history, attachments, and invoice holds of billing disputes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

TICKET_STATES = "('new','open','waiting_on_customer','resolved','closed')"
PRIORITIES = "('low','normal','high','urgent')"


class BusinessCalendar(Base):
    __tablename__ = "business_calendars"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="bcal_…")
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    working_hours: Mapped[dict[str, Any]] = mapped_column(
        JSONB, comment='{"mon": [["09:00", "17:00"]], …} in the calendar\'s time zone'
    )
    holidays: Mapped[list[date]] = mapped_column(ARRAY(Date), default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketQueue(Base):
    __tablename__ = "ticket_queues"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="tq_…")
    organisation_id: Mapped[str] = mapped_column(
        ForeignKey("organisations.id"), index=True, comment="the operator that configures it"
    )
    owner_organisation_id: Mapped[str] = mapped_column(
        ForeignKey("organisations.id"),
        comment="whose staff work it: the operator's team, or an outlet/partner",
    )
    name: Mapped[str] = mapped_column(String(200))
    next_queue_id: Mapped[str | None] = mapped_column(
        ForeignKey("ticket_queues.id"), comment="where an escalation moves its tickets"
    )
    supervisor: Mapped[str | None] = mapped_column(
        String(320), comment="who an escalation tells (the notification engine routes ticket.escalated)"
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TicketCategory(Base):
    __tablename__ = "ticket_categories"
    __table_args__ = (
        UniqueConstraint("organisation_id", "code"),
        CheckConstraint(f"priority in {PRIORITIES}", name="priority"),
        CheckConstraint(
            "action in ('none','stolen_device','billing_dispute','cancel_request')", name="action"
        ),
        CheckConstraint("first_response_minutes > 0 and resolution_minutes > 0", name="targets"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="tcat_…")
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[str] = mapped_column(String(16))
    queue_id: Mapped[str] = mapped_column(ForeignKey("ticket_queues.id"))
    calendar_id: Mapped[str] = mapped_column(ForeignKey("business_calendars.id"))
    first_response_minutes: Mapped[int] = mapped_column(Integer, comment="business minutes")
    resolution_minutes: Mapped[int] = mapped_column(Integer, comment="business minutes")
    action: Mapped[str] = mapped_column(String(32), default="none")
    escalation_policy: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, comment="domain.care.EscalationPolicy: warn_percent and levels"
    )
    open_to_subscribers: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), comment="subscribers may raise tickets in it"
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(f"status in {TICKET_STATES}", name="status"),
        CheckConstraint(f"priority in {PRIORITIES}", name="priority"),
        Index("ix_tickets_organisation_id_id", "organisation_id", "id"),
        Index("ix_tickets_queue_id_status", "queue_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="tkt_…")
    organisation_id: Mapped[str] = mapped_column(
        ForeignKey("organisations.id"), comment="the account's organisation"
    )
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    category_id: Mapped[str] = mapped_column(ForeignKey("ticket_categories.id"))
    queue_id: Mapped[str] = mapped_column(ForeignKey("ticket_queues.id"))
    status: Mapped[str] = mapped_column(String(24), default="new")
    priority: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    subscription_id: Mapped[str | None] = mapped_column(ForeignKey("subscriptions.id"))
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"))
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"))
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"))
    assignee: Mapped[str | None] = mapped_column(String(200))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    reopens: Mapped[int] = mapped_column(Integer, default=0, comment="each reopen re-arms the SLA clocks")
    process_id: Mapped[str] = mapped_column(String(128), comment="its TicketEscalation")
    first_responded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TicketHistory(Base):
    """Every change to a ticket, comment, attachment and assignment (append-only: a trigger refuses edits)."""

    __tablename__ = "ticket_history"
    __table_args__ = (
        CheckConstraint("visibility in ('public','internal')", name="visibility"),
        Index("ix_ticket_history_ticket_id_id", "ticket_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(
        String(32), comment="created, status, comment, attachment, assignment, escalation, sla, action"
    )
    actor: Mapped[str] = mapped_column(String(64), comment="an API key id, or 'system'")
    visibility: Mapped[str] = mapped_column(String(16), default="internal")
    body: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class TicketAttachment(Base):
    __tablename__ = "ticket_attachments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="tatt_…")
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InvoiceHold(Base):
    """An invoice a billing dispute holds: dunning waits while ``released_at`` is null."""

    __tablename__ = "invoice_holds"

    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"))
    held_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None]
