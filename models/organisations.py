"""Organisations (operator, partners, resellers, outlets) and their API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint("kind in ('operator','partner','reseller','outlet')", name="kind"),
        CheckConstraint("rounding_mode in ('half_up','half_even','up','down')", name="rounding_mode"),
        Index("ix_organisations_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(Text, unique=True)
    country: Mapped[str | None] = mapped_column(String(2))
    contact_email: Mapped[str | None] = mapped_column(
        String(254), comment="where the platform writes to the organisation (disabled webhook endpoints…)"
    )
    rounding_mode: Mapped[str] = mapped_column(String(16), default="half_up", server_default="half_up")
    dunning_ladder: Mapped[dict[str, Any] | None] = mapped_column(
        JSONB, comment="the operator's dunning ladder"
    )
    voucher_max_value_minor: Mapped[dict[str, int] | None] = mapped_column(
        JSONB, comment="the operator's maximum value of one voucher, in minor units per currency"
    )
    top_up_max_minor: Mapped[dict[str, int] | None] = mapped_column(
        JSONB,
        comment="the operator's maximum of one wallet top-up by a subscriber, in minor units per currency",
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("role in ('admin','agent','integrator')", name="role"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
