"""Customer accounts: B2C persons, B2B companies (with parent/child), a partner's own customers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("type in ('person','company')", name="type"),
        CheckConstraint("status in ('active','closed')", name="status"),
        CheckConstraint("tax_status in ('taxable','exempt','reverse_charge')", name="tax_status"),
        CheckConstraint(
            "verification_status in ('not_requested','pending','verified','unverified')",
            name="verification_status",
        ),
        CheckConstraint("char_length(currency) = 3", name="currency"),
        CheckConstraint("birth_date >= date '1900-01-01'", name="birth_date"),
        Index("ix_accounts_org_id", "organisation_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    parent_account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    display_name: Mapped[str] = mapped_column(String(300))
    given_name: Mapped[str | None] = mapped_column(String(150))
    family_name: Mapped[str | None] = mapped_column(String(150))
    legal_name: Mapped[str | None] = mapped_column(String(300))
    registration_number: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16), default="en")
    currency: Mapped[str] = mapped_column(String(3))
    timezone: Mapped[str] = mapped_column(String(64))
    tax_status: Mapped[str] = mapped_column(String(16), default="taxable")
    tax_id: Mapped[str | None] = mapped_column(String(64))
    external_ref: Mapped[str | None] = mapped_column(String(128))
    addresses: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    verification_status: Mapped[str] = mapped_column(String(16), default="not_requested")
    verification_process_id: Mapped[str | None] = mapped_column(String(128))
    verified_at: Mapped[datetime | None]
    birth_date: Mapped[date | None]  # a person's date of birth, where given (segments' age bands)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
