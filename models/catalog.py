"""The operator's catalogue: products, versioned plans, bundles, tax rates and price lists.

Definitions are stored as validated JSON specs (domain/catalog.py) beside the columns we query by.
Nothing sold is edited in place: a plan changes by a new version with an effective date.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Product(Base):
    __tablename__ = "catalog_products"
    __table_args__ = (UniqueConstraint("organisation_id", "code", name="uq_catalog_products_org_code"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlanVersion(Base):
    __tablename__ = "catalog_plans"
    __table_args__ = (
        UniqueConstraint("organisation_id", "code", "version", name="uq_catalog_plans_org_code_version"),
        UniqueConstraint("organisation_id", "code", "effective_from", name="uq_catalog_plans_org_code_from"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    existing_move_on: Mapped[date | None] = mapped_column(
        Date, comment="subscribers of earlier versions keep their price until this date"
    )
    product_code: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Bundle(Base):
    __tablename__ = "catalog_bundles"
    __table_args__ = (UniqueConstraint("organisation_id", "code", name="uq_catalog_bundles_org_code"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    code: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TaxRateRow(Base):
    __tablename__ = "tax_rates"
    __table_args__ = (
        UniqueConstraint("organisation_id", "country", "region", "category", name="uq_tax_rates_scope"),
        CheckConstraint("percent >= 0 and percent <= 100", name="percent_range"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(20), default="")
    category: Mapped[str] = mapped_column(String(64))
    percent: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PriceList(Base):
    __tablename__ = "price_lists"
    __table_args__ = (
        UniqueConstraint("organisation_id", "code", name="uq_price_lists_org_code"),
        UniqueConstraint("organisation_id", "country", "currency", name="uq_price_lists_market"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    code: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))
    tax_inclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
