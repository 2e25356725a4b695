"""Subscriptions, the services inside them, their history, scheduled changes and pending charges."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

SUBSCRIPTION_STATES = ("draft", "active", "suspended", "terminated", "regretted", "failed")
SERVICE_STATES = ("pending", "active", "suspended", "terminated", "failed")


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(f"status in {SUBSCRIPTION_STATES}", name="status"),
        UniqueConstraint("organisation_id", "request_id", name="uq_subscriptions_request"),
        Index("ix_subscriptions_account", "account_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    request_id: Mapped[str] = mapped_column(String(255), comment="the Idempotency-Key that created it")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    bill_day: Mapped[int] = mapped_column(Integer)
    billing_term: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    fully_billed_to: Mapped[date | None] = mapped_column(
        Date,
        comment="the end_date of this terminated subscription when a bill run found nothing more could "
        "fall due (bill runs pass it by until a pending charge or open rated usage appears for it)",
    )
    cooling_off_until: Mapped[date | None] = mapped_column(Date)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    active_process_id: Mapped[str | None] = mapped_column(
        String(200), comment="the one process allowed to change this subscription now"
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SubscriptionService(Base):
    """One service (a plan) inside a subscription, with its own state and effective dates."""

    __tablename__ = "subscription_services"
    __table_args__ = (
        CheckConstraint(f"status in {SERVICE_STATES}", name="status"),
        CheckConstraint("role in ('base','addon')", name="role"),
        CheckConstraint("ended_on is null or ended_on >= started_on", name="dates"),
        Index("ix_subscription_services_subscription", "subscription_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"))
    line_id: Mapped[str] = mapped_column(
        String(32), comment="stable identity across plan changes (what provisioning systems know)"
    )
    plan_code: Mapped[str] = mapped_column(String(64))
    plan_version: Mapped[int] = mapped_column(Integer)
    product_kind: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    bundle_code: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    replaced_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubscriptionEvent(Base):
    """The history of a subscription: every change with who, when and why (append-only)."""

    __tablename__ = "subscription_events"
    __table_args__ = (Index("ix_subscription_events_subscription", "subscription_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"))
    service_id: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    effective_on: Mapped[date | None] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduledChange(Base):
    __tablename__ = "scheduled_changes"
    __table_args__ = (
        CheckConstraint("status in ('pending','applied','cancelled')", name="status"),
        Index("ix_scheduled_changes_subscription", "subscription_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"))
    kind: Mapped[str] = mapped_column(String(32))
    effective_on: Mapped[date] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    process_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PendingCharge(Base):
    """A charge or credit a process created, waiting for the billing cycle (or invoiced at once)."""

    __tablename__ = "pending_charges"
    __table_args__ = (
        CheckConstraint("status in ('pending','invoiced','void')", name="status"),
        CheckConstraint("char_length(currency) = 3", name="currency"),
        Index("ix_pending_charges_account_status", "account_id", "status"),
        Index("ix_pending_charges_subscription", "subscription_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"))
    service_id: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(300))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[str] = mapped_column(String(40), default="1")
    unit_price: Mapped[str] = mapped_column(String(40))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    tax_category: Mapped[str] = mapped_column(String(64), default="standard")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    invoice_id: Mapped[str | None] = mapped_column(String(32), comment="set when a bill run invoices it")
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProvisioningOrder(Base):
    """An order to a provisioning system for one service; idempotent, retried, re-runnable."""

    __tablename__ = "provisioning_orders"
    __table_args__ = (
        CheckConstraint("state in ('pending','done','failed','skipped')", name="state"),
        CheckConstraint("action in ('activate','suspend','resume','change','terminate')", name="action"),
        Index("ix_provisioning_orders_state", "state"),
        Index("ix_provisioning_orders_service", "service_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"))
    service_id: Mapped[str] = mapped_column(String(32))
    service_kind: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    adapter: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    request: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
