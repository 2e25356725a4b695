"""Targeted offers, their redemptions and grants (an offer given to one account, e.g. a loyalty award).

The cap is kept in the offer row itself: ``redeemed_count`` is raised under a row lock in the
transaction that records a redemption, and a check constraint refuses a count beyond ``total_cap``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

OFFER_KINDS = ("discount", "addon", "upgrade", "wallet_credit", "voucher")
OFFER_STATUSES = ("active", "paused", "ended")
REDEMPTION_STATUSES = ("active", "completed")


class Offer(Base):
    __tablename__ = "offers"
    __table_args__ = (
        UniqueConstraint("organisation_id", "code", name="uq_offers_organisation_code"),
        CheckConstraint(f"kind in {OFFER_KINDS}", name="kind"),
        CheckConstraint(f"status in {OFFER_STATUSES}", name="status"),
        CheckConstraint("stacking in ('exclusive','stackable')", name="stacking"),
        CheckConstraint("total_cap is null or redeemed_count <= total_cap", name="within_cap"),
        CheckConstraint("redeemed_count >= 0", name="count_positive"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="off_…")
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    currency: Mapped[str] = mapped_column(String(3))
    plan_code: Mapped[str | None] = mapped_column(String(64), comment="the plan or add-on discounted")
    percent: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger, comment="off each period")
    periods: Mapped[int | None] = mapped_column(Integer, comment="billing periods discounted")
    value_minor: Mapped[int | None] = mapped_column(BigInteger, comment="wallet credit or voucher value")
    segment_ids: Mapped[list[str]] = mapped_column(JSONB, default=list, comment="member of any: eligible")
    channels: Mapped[list[str]] = mapped_column(JSONB, default=list, comment="empty: any channel")
    grant_only: Mapped[bool] = mapped_column(default=False, comment="only accounts granted the offer")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date, comment="last day it can be accepted")
    total_cap: Mapped[int | None] = mapped_column(Integer)
    per_account_cap: Mapped[int | None] = mapped_column(Integer)
    redeemed_count: Mapped[int] = mapped_column(Integer, default=0)
    stacking: Mapped[str] = mapped_column(String(16), default="exclusive")
    stack_group: Mapped[str | None] = mapped_column(String(64))
    estimated_cost_minor: Mapped[int] = mapped_column(BigInteger, default=0, comment="per redemption")
    cost_to_date_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OfferRedemption(Base):
    __tablename__ = "offer_redemptions"
    __table_args__ = (
        UniqueConstraint("organisation_id", "idempotency_key", name="uq_offer_redemptions_key"),
        CheckConstraint(f"status in {REDEMPTION_STATUSES}", name="status"),
        Index("ix_offer_redemptions_offer_account", "offer_id", "account_id"),
        Index("ix_offer_redemptions_account", "account_id", "status"),
        Index("ix_offer_redemptions_subscription", "subscription_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="ord_…")
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    subscription_id: Mapped[str | None] = mapped_column(String(32), comment="the discounted subscription")
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active")
    accepted_on: Mapped[date] = mapped_column(Date, comment="the account's local day")
    terms: Mapped[dict[str, Any]] = mapped_column(JSONB, comment="the offer's terms when accepted")
    cost_minor: Mapped[int] = mapped_column(BigInteger, default=0, comment="estimated, or the value given")
    process_id: Mapped[str | None] = mapped_column(String(200), comment="the PlanChange it started")
    wallet_transaction_id: Mapped[str | None] = mapped_column(String(32))
    voucher_id: Mapped[str | None] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OfferGrant(Base):
    """An offer given to one account (a loyalty award): it is then eligible, whatever the segments."""

    __tablename__ = "offer_grants"
    __table_args__ = (
        UniqueConstraint("organisation_id", "idempotency_key", name="uq_offer_grants_key"),
        Index("ix_offer_grants_offer_account", "offer_id", "account_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="ogr_…")
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    offer_id: Mapped[str] = mapped_column(ForeignKey("offers.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
