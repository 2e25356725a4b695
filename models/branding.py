"""An operator's portal branding (one row per operator) and the portal hosts that answer for it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class PortalBranding(Base):
    """Name, logo, colours, font, footer and support contacts of an operator's portal and app.

    ``version`` grows on every change: the public app configuration's ETag is made from it.
    """

    __tablename__ = "portal_brandings"
    __table_args__ = (
        CheckConstraint("default_language in ('en','es')", name="default_language"),
        CheckConstraint("version >= 1", name="version"),
    )

    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    logo_url: Mapped[str | None] = mapped_column(String(500))
    logo_type: Mapped[str | None] = mapped_column(String(40))
    logo_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    colours: Mapped[dict[str, str]] = mapped_column(JSONB)
    font_family: Mapped[str] = mapped_column(String(200))
    footer_links: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    support_email: Mapped[str | None] = mapped_column(String(320))
    support_phone: Mapped[str | None] = mapped_column(String(40))
    support_hours: Mapped[str | None] = mapped_column(String(100))
    default_language: Mapped[str] = mapped_column(String(2))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PortalHost(Base):
    """A Host name the portal answers for an operator; a name belongs to one operator only."""

    __tablename__ = "portal_hosts"
    __table_args__ = (CheckConstraint("host = lower(host)", name="host_lower"),)

    host: Mapped[str] = mapped_column(String(253), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("portal_brandings.organisation_id"))
