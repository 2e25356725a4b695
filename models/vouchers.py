"""Voucher lots and their codes (stored only as a hash and a short display prefix)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

LOT_STATES = ("created", "activated", "cancelled")
VOUCHER_STATES = ("created", "activated", "redeemed", "cancelled", "expired")


class VoucherLot(Base):
    __tablename__ = "voucher_lots"
    __table_args__ = (
        CheckConstraint(f"status in {LOT_STATES}", name="status"),
        CheckConstraint("value_minor > 0", name="value_positive"),
        CheckConstraint("count > 0", name="count_positive"),
        Index("ix_voucher_lots_organisation", "organisation_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), comment="the issuer")
    seller_organisation_id: Mapped[str] = mapped_column(
        ForeignKey("organisations.id"), comment="the organisation that sells the vouchers"
    )
    value_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    expires_on: Mapped[date] = mapped_column(Date, comment="last day a code can be redeemed")
    count: Mapped[int] = mapped_column(Integer)
    plan_code: Mapped[str | None] = mapped_column(String(64), comment="only for this plan, if set")
    status: Mapped[str] = mapped_column(String(16), default="created")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]


class Voucher(Base):
    __tablename__ = "vouchers"
    __table_args__ = (
        CheckConstraint(f"status in {VOUCHER_STATES}", name="status"),
        Index("ix_vouchers_lot", "lot_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    lot_id: Mapped[str] = mapped_column(ForeignKey("voucher_lots.id"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    display_prefix: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="created")
    redeemed_at: Mapped[datetime | None]
    redeemed_by_account_id: Mapped[str | None] = mapped_column(String(32))
    redeemed_for_subscription_id: Mapped[str | None] = mapped_column(String(32))
    wallet_transaction_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoucherRedemptionFailure(Base):
    """A subscriber's failed redemption (wrong, used or expired code): counted per account and hour to
    refuse guessing (429 once too many)."""

    __tablename__ = "voucher_redemption_failures"
    __table_args__ = (Index("ix_voucher_redemption_failures_account", "account_id", "failed_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    code: Mapped[str] = mapped_column(String(64), comment="why it failed (the error code), never the code")
    failed_at: Mapped[datetime] = mapped_column(default=utcnow)
