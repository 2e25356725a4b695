"""Payment methods, payments, their allocation to invoices, refunds and gateway webhook events.

A card is stored only as the gateway's token plus display data (brand, last 4, expiry) — never a card
number. A payment is unique by its idempotency key (``<invoice id>:attempt:<n>`` for a collection), so
a retried activity finds the payment it already made instead of charging again.
"""

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
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

METHOD_KINDS = ("card", "sepa_debit", "cash", "wallet", "voucher", "mobile_money")
PAYMENT_STATES = ("pending", "succeeded", "failed", "refunded", "partially_refunded")


class AccountPaymentSettings(Base):
    """Per-account collection settings (auto-collection on or off)."""

    __tablename__ = "account_payment_settings"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    auto_collect: Mapped[bool] = mapped_column(Boolean, default=True)
    gateway_customer: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, comment="the customer id per gateway, e.g. {'stripe': 'cus_…'}"
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PaymentMethod(Base):
    __tablename__ = "payment_methods"
    __table_args__ = (
        CheckConstraint(f"kind in {METHOD_KINDS}", name="kind"),
        CheckConstraint("status in ('active','removed')", name="status"),
        Index("ix_payment_methods_account", "account_id", "id"),
        Index(
            "uq_payment_methods_default",
            "account_id",
            unique=True,
            postgresql_where=text("is_default and status = 'active'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(16))
    gateway: Mapped[str] = mapped_column(String(64))
    gateway_token: Mapped[str | None] = mapped_column(String(255), comment="e.g. pm_… (never a card number)")
    gateway_customer: Mapped[str | None] = mapped_column(String(255))
    brand: Mapped[str | None] = mapped_column(String(32))
    last4: Mapped[str | None] = mapped_column(String(4))
    exp_month: Mapped[int | None] = mapped_column(Integer)
    exp_year: Mapped[int | None] = mapped_column(Integer)
    mandate_reference: Mapped[str | None] = mapped_column(String(35))
    mandate_signed_on: Mapped[date | None] = mapped_column(Date)
    iban_masked: Mapped[str | None] = mapped_column(String(42))
    bic: Mapped[str | None] = mapped_column(String(11))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(f"status in {PAYMENT_STATES}", name="status"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("refunded_minor >= 0 and refunded_minor <= amount_minor", name="refund_limit"),
        Index("ix_payments_account", "account_id", "id"),
        Index("ix_payments_invoice", "invoice_id"),
        Index("ix_payments_gateway_reference", "gateway", "gateway_reference"),
        Index("uq_payments_receipt", "received_at_organisation_id", "receipt_number", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    method_id: Mapped[str | None] = mapped_column(ForeignKey("payment_methods.id"))
    kind: Mapped[str] = mapped_column(String(16), comment="card | sepa_debit | cash | wallet | voucher")
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(24), default="pending")
    gateway: Mapped[str] = mapped_column(String(64))
    gateway_reference: Mapped[str | None] = mapped_column(String(255))
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    invoice_id: Mapped[str | None] = mapped_column(String(32), comment="the invoice a collection was for")
    decline_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(Text)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    unallocated_minor: Mapped[int] = mapped_column(BigInteger, default=0, comment="account credit")
    received_by: Mapped[str | None] = mapped_column(String(64), comment="the API key of a cash agent")
    received_at_organisation_id: Mapped[str | None] = mapped_column(String(32), comment="the outlet")
    receipt_number: Mapped[str | None] = mapped_column(String(40), comment="gapless per receiving outlet")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PaymentAllocation(Base):
    __tablename__ = "payment_allocations"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("reversed_minor >= 0 and reversed_minor <= amount_minor", name="reversed_limit"),
        Index("ix_payment_allocations_payment", "payment_id"),
        Index("ix_payment_allocations_invoice", "invoice_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"))
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    reversed_minor: Mapped[int] = mapped_column(BigInteger, default=0, comment="taken back by refunds")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("status in ('pending','succeeded','failed')", name="status"),
        Index("ix_refunds_payment", "payment_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(String(300))
    gateway_reference: Mapped[str | None] = mapped_column(String(255))
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEvent(Base):
    """Every gateway event received once: a duplicate event id is ignored."""

    __tablename__ = "payment_webhook_events"
    __table_args__ = (Index("uq_payment_webhook_events_event", "gateway", "event_id", unique=True),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    gateway: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    outcome: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class MobileMoneyRequest(Base):
    """Which push request the mobile-money gateway sent for an idempotency key (one prompt per key; a
    request that never prompted, another being in progress, is replaced by the next push)."""

    __tablename__ = "mobile_money_requests"

    idempotency_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    checkout_request_id: Mapped[str] = mapped_column(String(64), unique=True)
    msisdn: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
