"""SEPA direct debit: mandates (the IBAN sealed for the bank file, see domain/sepa_vault.py, and its
masked form for display), debits and collection files."""

from __future__ import annotations

from datetime import date, datetime

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
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

DEBIT_STATES = ("pending", "submitted", "returned")


class SepaMandate(Base):
    __tablename__ = "sepa_mandates"
    __table_args__ = (
        CheckConstraint("status in ('active','revoked')", name="status"),
        UniqueConstraint("organisation_id", "reference", name="uq_sepa_mandates_reference"),
        Index("ix_sepa_mandates_account", "account_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), comment="the creditor")
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    payment_method_id: Mapped[str | None] = mapped_column(String(32), comment="payment_methods.id")
    reference: Mapped[str] = mapped_column(String(35))
    signed_on: Mapped[date] = mapped_column(Date)
    debtor_name: Mapped[str] = mapped_column(String(70))
    iban_sealed: Mapped[str] = mapped_column(Text, comment="AES-GCM under MULTIBILL_DATA_KEY (sepa_vault)")
    iban_masked: Mapped[str] = mapped_column(String(42), comment="e.g. DE89 **** 3000: all that is shown")
    bic: Mapped[str | None] = mapped_column(String(11))
    status: Mapped[str] = mapped_column(String(16), default="active")
    first_collected_on: Mapped[date | None] = mapped_column(Date, comment="null: next debit is FRST")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SepaCollection(Base):
    """One pain.008 file handed to the bank."""

    __tablename__ = "sepa_collections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    collection_date: Mapped[date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    xml: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SepaDebit(Base):
    """One debit waiting for (or sent in) a collection file; its end-to-end id is its id."""

    __tablename__ = "sepa_debits"
    __table_args__ = (
        CheckConstraint(f"status in {DEBIT_STATES}", name="status"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("currency = 'EUR'", name="currency_eur"),
        Index("ix_sepa_debits_org_status", "organisation_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="also the EndToEndId")
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    mandate_id: Mapped[str] = mapped_column(ForeignKey("sepa_mandates.id"))
    invoice_id: Mapped[str | None] = mapped_column(String(32))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    remittance: Mapped[str] = mapped_column(String(140), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    sequence_type: Mapped[str | None] = mapped_column(String(4), comment="FRST | RCUR, set when submitted")
    collection_id: Mapped[str | None] = mapped_column(ForeignKey("sepa_collections.id"))
    return_reason: Mapped[str | None] = mapped_column(String(8))
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
