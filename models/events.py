"""Business events (the transactional outbox): appended in the transaction of the change they record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class EventRecord(Base):
    __tablename__ = "business_events"
    __table_args__ = (
        Index("ix_business_events_organisation_id_id", "organisation_id", "id"),
        Index("ix_business_events_object_id_id", "object_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="evt_…, sortable by time")
    type: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, comment="the object's snapshot")
    api_version: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
