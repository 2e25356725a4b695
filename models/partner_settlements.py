"""Monthly partner settlements: what an operator owes a provider for one month's accepted charges."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class PartnerSettlement(Base):
    """One statement per (organisation, provider, month): the accepted ``partner_charges`` decided in that
    month (in ``time_zone``), their total, the operator's revenue share (rounded once) and the rest,
    payable to the partner, booked as one ledger entry. Each charge settled carries its ``settlement_id``."""

    __tablename__ = "partner_settlements"
    __table_args__ = (UniqueConstraint("organisation_id", "provider", "month"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="pset_…")
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    provider: Mapped[str] = mapped_column(String(32))
    month: Mapped[date] = mapped_column(Date, comment="the first day of the month settled")
    time_zone: Mapped[str] = mapped_column(String(64), comment="the zone the month was cut in")
    currency: Mapped[str] = mapped_column(String(3))
    charge_count: Mapped[int] = mapped_column(Integer)
    charged_minor: Mapped[int] = mapped_column(BigInteger, comment="the accepted charges' amount_minor")
    revenue_share_percent: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    operator_share_minor: Mapped[int] = mapped_column(BigInteger)
    partner_payable_minor: Mapped[int] = mapped_column(BigInteger)
    ledger_entry_id: Mapped[str | None] = mapped_column(String(32), comment="none when nothing was charged")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
