"""eWallets: one balance per account and currency, and the append-only history that explains it.

The balance never goes below zero (a CHECK) and changes only in the same transaction that appends a
``wallet_transactions`` row (each with an idempotency key; a prepaid period is debited once per
subscription and period start).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

WALLET_TX_KINDS = ("top_up", "service_debit", "payment", "refund", "reversal")


class Wallet(Base):
    __tablename__ = "wallets"
    __table_args__ = (
        CheckConstraint("balance_minor >= 0", name="balance_not_negative"),
        CheckConstraint("low_balance_threshold_minor >= 0", name="threshold_not_negative"),
        CheckConstraint("char_length(currency) = 3", name="currency"),
        UniqueConstraint("account_id", "currency", name="uq_wallets_account_currency"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    currency: Mapped[str] = mapped_column(String(3))
    balance_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    low_balance_threshold_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    low_balance_notified: Mapped[bool] = mapped_column(
        Boolean, default=False, comment="a notice went out since the balance last fell below the threshold"
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WalletTransaction(Base):
    """One movement of a wallet (append-only): positive amounts credit it, negative ones debit it."""

    __tablename__ = "wallet_transactions"
    __table_args__ = (
        CheckConstraint(f"kind in {WALLET_TX_KINDS}", name="kind"),
        CheckConstraint("amount_minor <> 0", name="amount_not_zero"),
        CheckConstraint("balance_after_minor >= 0", name="balance_after_not_negative"),
        Index("ix_wallet_transactions_wallet", "wallet_id", "id"),
        Index(
            "uq_wallet_transactions_period",
            "subscription_id",
            "period_start",
            unique=True,
            postgresql_where=text("kind = 'service_debit'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    wallet_id: Mapped[str] = mapped_column(ForeignKey("wallets.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    balance_after_minor: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str | None] = mapped_column(String(64), comment="card gateway, cash, voucher")
    reference: Mapped[str | None] = mapped_column(
        String(255), comment="gateway reference, voucher id, invoice id…"
    )
    subscription_id: Mapped[str | None] = mapped_column(String(32))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(String(300))
    ledger_entry_id: Mapped[str | None] = mapped_column(String(32))
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
