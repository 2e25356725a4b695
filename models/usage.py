"""Usage: events as received, their rated amounts per period, rate decks, subscriber aliases, RADIUS.

An event is stored once per (organisation, client event id), whatever the batch or the retry. Its
status moves ``accepted`` → ``rated``, or to ``suspense`` (with the reason: ``unknown_subscriber``,
``no_matching_tariff`` …) until an operator fixes the cause and retries; ``rejected`` is an event the
rating refused for good. The suspense queue is the events in ``suspense``: nothing is dropped.

Rated usage is append-only: the first rating writes a ``rated`` row per event; a re-rating writes an
``adjustment`` row with the difference (never a second ``rated`` row: a partial unique index).
Amounts are exact decimals at the rating precision (``precision`` tells how many places count).

``usage_events`` is partitioned by month of ``started_at`` (see models/partitions.py): its primary key
is (id, started_at), and the "once per client event id" guarantee, which cannot include the month, lives
in the small unpartitioned ``usage_event_keys`` table, written in the same statement as the event.
``rated_usage`` copies what billing needs from its event and holds no foreign key to it, so a raw
month can be dropped by the retention setting once every event in it is rated or rejected.
"""

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
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

EVENT_TYPES = ("voice", "data", "video")
EVENT_STATES = ("accepted", "rated", "suspense", "rejected")


class UsageEvent(Base):
    __tablename__ = "usage_events"
    __table_args__ = (
        CheckConstraint(f"event_type in {EVENT_TYPES}", name="event_type"),
        CheckConstraint(f"status in {EVENT_STATES}", name="status"),
        CheckConstraint("quantity >= 0", name="quantity"),
        Index(
            "ix_usage_events_accepted", "organisation_id", "id", postgresql_where=text("status = 'accepted'")
        ),
        Index(
            "ix_usage_events_suspense", "organisation_id", "id", postgresql_where=text("status = 'suspense'")
        ),
        Index("ix_usage_events_subscription", "subscription_id", "started_at"),
        {"postgresql_partition_by": "RANGE (started_at)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    client_event_id: Mapped[str] = mapped_column(String(128))
    subscriber: Mapped[str] = mapped_column(String(128), comment="as sent: sub_/svc_ id or an alias")
    subscription_id: Mapped[str | None] = mapped_column(String(32))
    service_id: Mapped[str | None] = mapped_column(String(32))
    event_type: Mapped[str] = mapped_column(String(8))
    metric: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(BigInteger, comment="seconds, bytes or units")
    duration: Mapped[int | None] = mapped_column(BigInteger, comment="session seconds of a data event")
    started_at: Mapped[datetime] = mapped_column(primary_key=True, comment="the partition key (month, UTC)")
    destination: Mapped[str | None] = mapped_column(String(32))  # E.164 when readable, else as sent
    destination_raw: Mapped[str | None] = mapped_column(
        String(32), comment="the dialled number as sent (destination holds it in E.164)"
    )
    source: Mapped[str] = mapped_column(String(16), default="api")
    status: Mapped[str] = mapped_column(String(10), default="accepted")
    reason: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    received_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))
    rated_at: Mapped[datetime | None]


class UsageEventKey(Base):
    """The guard of "stored once per (organisation, client event id)" across the monthly partitions of
    ``usage_events`` (a partitioned table's unique index must include the month; this one need not).
    Written with the event in one statement (activities/usage/ingestion.py); pruned only past the age
    at which an event is refused anyway (``domain.usage_events.MAX_AGE``)."""

    __tablename__ = "usage_event_keys"
    __table_args__ = (Index("ix_usage_event_keys_started_at", "started_at"),)

    organisation_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[datetime]


class RatedUsage(Base):
    __tablename__ = "rated_usage"
    __table_args__ = (
        CheckConstraint("kind in ('rated','adjustment')", name="kind"),
        CheckConstraint("status in ('open','invoiced')", name="status"),
        Index("uq_rated_usage_event_rated", "event_id", unique=True, postgresql_where=text("kind = 'rated'")),
        Index("uq_rated_usage_event_run", "event_id", "rating_run", unique=True),
        Index("ix_rated_usage_period", "subscription_id", "period_start", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(
        BigInteger, comment="usage_events.id; no foreign key (a raw month may be dropped)"
    )
    organisation_id: Mapped[str] = mapped_column(String(32))
    subscription_id: Mapped[str] = mapped_column(String(32))
    service_id: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(64))
    destination: Mapped[str | None] = mapped_column(String(32), comment="the matched prefix")
    destination_name: Mapped[str | None] = mapped_column(String(100))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(BigInteger)
    covered: Mapped[int] = mapped_column(BigInteger, comment="base units the allowance paid")
    charged: Mapped[int] = mapped_column(BigInteger, comment="base units beyond the allowance")
    pool: Mapped[str] = mapped_column(String(140), comment="allowance pool: service or subscription + metric")
    amount: Mapped[Decimal] = mapped_column(Numeric(28, 10))
    precision: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    tariff: Mapped[str] = mapped_column(String(200), comment="deck code@version/tariff or plan code@version")
    kind: Mapped[str] = mapped_column(String(12), default="rated")
    rating_run: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="open", comment="invoiced by the billing cycle")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=text("now()"))


class RateDeckVersion(Base):
    """An immutable version of a rate deck; a correction is a new version (the latest effective wins)."""

    __tablename__ = "usage_rate_decks"
    __table_args__ = (
        Index("uq_usage_rate_decks_version", "organisation_id", "code", "currency", "version", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    code: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[datetime]
    destinations: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubscriberAlias(Base):
    """A phone number, username or device id that identifies a service in usage records."""

    __tablename__ = "usage_subscriber_aliases"

    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    alias: Mapped[str] = mapped_column(String(128), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"))
    service_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RadiusSession(Base):
    """The last counters seen for a RADIUS accounting session, so interim updates count deltas only."""

    __tablename__ = "usage_radius_sessions"

    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    octets: Mapped[int] = mapped_column(BigInteger, default=0)
    session_time: Mapped[int] = mapped_column(BigInteger, default=0)
    records: Mapped[int] = mapped_column(Integer, default=0)
    stopped: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
