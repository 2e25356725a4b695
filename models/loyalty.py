"""Loyalty: an operator's programme settings and award rules, award runs, the awards themselves (one per
rule, account and period: the unique key is the last guard), and the points ledger per account.

A points balance changes only through ``loyalty_point_movements``: a trigger (migration 0031) adds each
new movement to the account's balance in the same statement, refuses to edit or delete a movement, and
the balance's CHECK refuses to go below zero, so the balance is always the sum of the movements.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
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

AWARD_KINDS = ("points", "wallet_credit", "voucher", "offer")
AWARD_STATES = ("pending", "applied", "skipped")
MOVEMENT_KINDS = ("earn", "redeem", "expire", "reverse")
REWARDS = ("wallet_credit", "voucher")


class LoyaltyProgramme(Base):
    """An operator's points settings: what a point is worth when redeemed, and when points expire."""

    __tablename__ = "loyalty_programmes"
    __table_args__ = (
        CheckConstraint("point_value_minor > 0", name="point_value_positive"),
        CheckConstraint("points_expiry_months is null or points_expiry_months > 0", name="expiry_positive"),
    )

    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    point_value_minor: Mapped[Decimal] = mapped_column(
        Numeric(18, 6), comment="minor units of the currency one point is worth"
    )
    points_expiry_months: Mapped[int | None] = mapped_column(Integer, comment="null: points never expire")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LoyaltyRule(Base):
    __tablename__ = "loyalty_rules"
    __table_args__ = (UniqueConstraint("organisation_id", "code", name="uq_loyalty_rules_code"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="lrl_…")
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB, comment="domain/loyalty.py RuleDefinition")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LoyaltyRun(Base):
    """One award period of an operator (a LoyaltyAward process)."""

    __tablename__ = "loyalty_runs"
    __table_args__ = (
        CheckConstraint("status in ('running','completed')", name="status"),
        UniqueConstraint("organisation_id", "period", name="uq_loyalty_runs_period"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="lrn_…")
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    period: Mapped[str] = mapped_column(String(7), comment="YYYY-MM")
    process_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    points_expired: Mapped[int] = mapped_column(BigInteger, default=0)


class LoyaltyAward(Base):
    """One rule's award to one account for one period (or once ever: period ``once``)."""

    __tablename__ = "loyalty_awards"
    __table_args__ = (
        CheckConstraint(f"kind in {AWARD_KINDS}", name="kind"),
        CheckConstraint(f"status in {AWARD_STATES}", name="status"),
        CheckConstraint("points >= 0", name="points_not_negative"),
        UniqueConstraint("rule_id", "account_id", "period_key", name="uq_loyalty_awards_once"),
        Index("ix_loyalty_awards_run_status", "run_id", "status", "id"),
        Index("ix_loyalty_awards_account", "account_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="law_…")
    organisation_id: Mapped[str] = mapped_column(String(32))
    # keys guarded per statement (migration 0047: mb_guard_keys), not by a per-row foreign key
    rule_id: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str] = mapped_column(String(32))
    period_key: Mapped[str] = mapped_column(String(7), comment="YYYY-MM, or once")
    run_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger, comment="wallet credit or voucher value")
    currency: Mapped[str | None] = mapped_column(String(3))
    offer_code: Mapped[str | None] = mapped_column(String(64))
    qualified_by: Mapped[int | None] = mapped_column(
        BigInteger, comment="what qualified: months, services, metrics or minor units spent"
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    applied_at: Mapped[datetime | None]
    ledger_entry_id: Mapped[str | None] = mapped_column(String(32))
    wallet_transaction_id: Mapped[str | None] = mapped_column(String(32))
    voucher_id: Mapped[str | None] = mapped_column(String(32))
    voucher_code: Mapped[str | None] = mapped_column(String(19), comment="the code given to the customer")
    movement_id: Mapped[str | None] = mapped_column(
        String(32), comment="points: the earn movement that credited them (one per account and run)"
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoyaltyPointBalance(Base):
    __tablename__ = "loyalty_point_balances"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)

    # keys guarded per statement (migration 0047: mb_guard_keys), not by a per-row foreign key
    account_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(String(32))
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoyaltyPointMovement(Base):
    """Append-only: earn (> 0), redeem, expire, reverse (< 0)."""

    __tablename__ = "loyalty_point_movements"
    __table_args__ = (
        CheckConstraint(f"kind in {MOVEMENT_KINDS}", name="kind"),
        CheckConstraint("(kind = 'earn') = (points > 0) and points <> 0", name="sign"),
        Index("ix_loyalty_point_movements_account", "account_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="lpm_…")
    organisation_id: Mapped[str] = mapped_column(String(32))
    # keys guarded per statement (migration 0047: mb_guard_keys), not by a per-row foreign key
    account_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(BigInteger)
    occurred_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date, comment="earned points: when they expire")
    award_id: Mapped[str | None] = mapped_column(String(32))
    redemption_id: Mapped[str | None] = mapped_column(String(32))
    reverses_id: Mapped[str | None] = mapped_column(String(32), comment="the earn movement reversed")
    reason: Mapped[str | None] = mapped_column(String(300))
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoyaltyRedemption(Base):
    """Points exchanged for wallet credit or a voucher."""

    __tablename__ = "loyalty_redemptions"
    __table_args__ = (
        CheckConstraint(f"reward in {REWARDS}", name="reward"),
        CheckConstraint("points > 0 and amount_minor > 0", name="positive"),
        Index("ix_loyalty_redemptions_account", "account_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="lrd_…")
    organisation_id: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    points: Mapped[int] = mapped_column(BigInteger)
    reward: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    ledger_entry_id: Mapped[str | None] = mapped_column(String(32))
    wallet_transaction_id: Mapped[str | None] = mapped_column(String(32))
    voucher_id: Mapped[str | None] = mapped_column(String(32))
    voucher_code: Mapped[str | None] = mapped_column(String(19))
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
