"""Partner services (Netflix and other content providers): the partner membership behind a subscription's
partner-service product. Charges, settlements and contracts live beside it in their own modules."""

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
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

PARTNER_SUBSCRIPTION_STATES = ("pending_signup", "active", "ended", "failed")


class PartnerSubscription(Base):
    """One membership of an account at a provider, created by onboarding (or a plan change) for a
    subscription service whose product is of kind ``partner_service``.

    ``partner_customer_id`` is what the provider knows the customer by (Netflix's
    ``billing_system_customer_identifier``): the account id. At most one live (pending or active)
    membership per account and provider.
    """

    __tablename__ = "partner_subscriptions"
    __table_args__ = (
        CheckConstraint(
            "status in ('pending_signup','active','ended','failed')",
            name="status",
        ),
        Index(
            "uq_partner_subscriptions_live",
            "organisation_id",
            "provider",
            "partner_customer_id",
            unique=True,
            postgresql_where=text("status in ('pending_signup','active')"),
        ),
        Index("ix_partner_subscriptions_subscription_id", "subscription_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="psub_…")
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    subscription_id: Mapped[str] = mapped_column(String(32))
    service_id: Mapped[str | None] = mapped_column(
        String(32), comment="the subscription service of the partner-service product"
    )
    provider: Mapped[str] = mapped_column(String(32), comment="the adapter's name: netflix, …")
    partner_plan: Mapped[str] = mapped_column(String(32), comment="the provider's plan code")
    partner_customer_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending_signup")
    channel: Mapped[str] = mapped_column(String(16), default="OTHER")
    promotion_code: Mapped[str | None] = mapped_column(String(64))
    signup_url: Mapped[str | None] = mapped_column(Text)
    signup_expires_at: Mapped[datetime | None]
    allowance_minor: Mapped[int] = mapped_column(
        BigInteger, default=0, comment="most the provider may charge per period for this membership"
    )
    currency: Mapped[str] = mapped_column(String(3))
    included_in_price: Mapped[bool] = mapped_column(
        default=False, comment="the bundle's price covers the partner's charges (accepted at zero cost)"
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(Text)


class PartnerConnection(Base):
    """An operator's account at a provider: where to reach it, its credentials (the secret sealed under
    MULTIBILL_DATA_KEY) and the contract that settlement applies."""

    __tablename__ = "partner_connections"
    __table_args__ = (UniqueConstraint("organisation_id", "provider"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="pcon_…")
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    base_url: Mapped[str] = mapped_column(Text)
    partner_id: Mapped[str] = mapped_column(String(200))
    secret_sealed: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    revenue_share_percent: Mapped[Decimal] = mapped_column(
        Numeric(7, 4), default=Decimal(0), comment="the operator's share of what subscribers pay the partner"
    )
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


PARTNER_CHARGE_STATES = ("received", "accepted", "declined")


class PartnerCharge(Base):
    """A charge a provider asked us to bill, kept once per (organisation, provider, charge number) however
    often the provider sends it, with our decision and how the subscriber was billed for it.

    ``status``: ``received`` (stored, not decided), ``accepted`` or ``declined``; ``reported_at`` is when
    the provider took the decision. ``subscriber_amount_minor`` is what the subscriber pays (0 when the
    bundle's price includes the charge); ``amount_minor`` is what the partner is owed, settled monthly.
    """

    __tablename__ = "partner_charges"
    __table_args__ = (
        UniqueConstraint("organisation_id", "provider", "charge_number"),
        UniqueConstraint("organisation_id", "reference", name="uq_partner_charges_organisation_id_reference"),
        CheckConstraint("status in ('received','accepted','declined')", name="status"),
        CheckConstraint(
            "billed_as is null or billed_as in ('invoice','wallet','included')", name="billed_as"
        ),
        Index("ix_partner_charges_status", "organisation_id", "provider", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="pch_…")
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    provider: Mapped[str] = mapped_column(String(32))
    charge_number: Mapped[str] = mapped_column(String(64))
    partner_customer_id: Mapped[str] = mapped_column(String(64))
    partner_subscription_id: Mapped[str | None] = mapped_column(
        ForeignKey("partner_subscriptions.id"), index=True
    )
    account_id: Mapped[str | None] = mapped_column(String(32), index=True)
    partner_plan: Mapped[str] = mapped_column(String(32))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    local_amount_minor: Mapped[int] = mapped_column(BigInteger)
    local_currency: Mapped[str] = mapped_column(String(3))
    paid_through: Mapped[date] = mapped_column(Date)
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="received")
    decline_status: Mapped[str | None] = mapped_column(String(16), comment="DECLINED, BAD_REQUEST, REJECTED")
    reason: Mapped[str | None] = mapped_column(Text, comment="why we declined (machine code: message)")
    reference: Mapped[str | None] = mapped_column(String(64), comment="our reference, unique per operator")
    subscriber_amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    billed_as: Mapped[str | None] = mapped_column(String(16))
    pending_charge_id: Mapped[str | None] = mapped_column(String(32))
    times_received: Mapped[int] = mapped_column(default=1)
    decided_at: Mapped[datetime | None]
    reported_at: Mapped[datetime | None]
    settlement_id: Mapped[str | None] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    report_error_code: Mapped[str | None] = mapped_column(
        String(40), comment="the provider refused our decision: its code (CHARGE_NOT_FOUND, …)"
    )
    report_error: Mapped[str | None] = mapped_column(Text, comment="the provider's description of it")
