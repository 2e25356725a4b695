"""Callbacks of provisioning platforms (the MVNO host's order outcomes): each one recorded once.

A platform may call back twice, late, or after a status query already told us the outcome; the unique
``(adapter, event_id)`` (the host order id and its final status) is the last guard against applying one
twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class ProvisioningCallback(Base):
    """One callback as received (once); ``outcome`` says what it did to its provisioning order."""

    __tablename__ = "provisioning_callbacks"
    __table_args__ = (
        Index("uq_provisioning_callbacks_event", "adapter", "event_id", unique=True),
        Index("ix_provisioning_callbacks_order", "provisioning_order_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    adapter: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(255), comment="the platform's order id and final status")
    order_ref: Mapped[str] = mapped_column(String(300), comment="our idempotency key as the platform has it")
    provisioning_order_id: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    outcome: Mapped[str] = mapped_column(String(64))
    copies: Mapped[int] = mapped_column(default=1, comment="how many times it was delivered")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
