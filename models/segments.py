"""Segments: operator-defined groups of accounts by rules (data, never code), and their current members.
Dated snapshots of who joined and who left live beside them in the segments area's own tables."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

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
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Segment(Base):
    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("organisation_id", "code"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, comment="seg_…")
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONB, comment="the validated rule tree (JSON)")
    member_count: Mapped[int] = mapped_column(default=0)
    refreshed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SegmentMember(Base):
    """Who is in a segment now (as of its last refresh)."""

    __tablename__ = "segment_members"

    segment_id: Mapped[str] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True, index=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)


class SegmentRefresh(Base):
    """One refresh of a segment (its id is the caller's key, per segment: a refresh repeated with it changes
    nothing)."""

    __tablename__ = "segment_refreshes"
    __table_args__ = (Index("ix_segment_refreshes_segment", "segment_id", "at"),)

    segment_id: Mapped[str] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, comment="the day the rule's periods are read at")
    joined: Mapped[int] = mapped_column(Integer)
    left: Mapped[int] = mapped_column(Integer)
    member_count: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class SegmentMembershipChange(Base):
    """The dated snapshot of who joined and who left a segment, by refresh."""

    __tablename__ = "segment_membership_changes"
    __table_args__ = (
        CheckConstraint("change in ('joined','left')", name="change"),
        Index("ix_segment_membership_changes_segment", "segment_id", "id"),
        Index("ix_segment_membership_changes_account", "account_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    segment_id: Mapped[str] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    change: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    refresh_id: Mapped[str] = mapped_column(String(200))
