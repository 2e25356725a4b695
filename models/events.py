"""Business events (the transactional outbox): appended in the transaction of the change they record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from models.base import Base, utcnow


class Xid8(UserDefinedType[str]):
    """PostgreSQL's 64-bit transaction id (``xid8``), read as its decimal text."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "xid8"


class EventRecord(Base):
    __tablename__ = "business_events"
    __table_args__ = (
        Index("ix_business_events_organisation_id_id", "organisation_id", "id"),
        Index("ix_business_events_object_id_id", "object_id", "id"),
        Index("ix_business_events_txid_id", "txid", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="evt_…, sortable by time")
    type: Mapped[str] = mapped_column(String(64))
    # guarded per statement (migration 0048: mb_guard_keys), not by a per-row foreign key
    organisation_id: Mapped[str] = mapped_column(String(32))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, comment="the object's snapshot")
    api_version: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    txid: Mapped[str] = mapped_column(
        Xid8(),
        server_default=text("pg_current_xact_id()"),
        comment="the writing transaction: fan-out walks (txid, id) below the oldest running one",
    )
