"""Subscribers' own logins to the portal and the app, and their sessions (one per browser or app install).

Secrets are never stored: a session token and (in the identity area's own tables) one-time
links and refresh tokens are kept as SHA-256 digests; passwords as argon2 hashes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class SubscriberLogin(Base):
    """A subscriber's login: one per account, by e-mail (unique per organisation, lower-cased)."""

    __tablename__ = "subscriber_logins"
    __table_args__ = (
        UniqueConstraint("organisation_id", "email"),
        UniqueConstraint("account_id"),
        CheckConstraint("email = lower(email)", name="email_lower"),
        CheckConstraint("failed_attempts >= 0", name="failed_attempts"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # usr_…
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(255))  # argon2; None: e-mail links only
    email_verified_at: Mapped[datetime | None]
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SubscriberSession(Base):
    """A signed-in browser (portal) or app installation; revoking it logs that device out."""

    __tablename__ = "subscriber_sessions"
    __table_args__ = (
        CheckConstraint("kind in ('portal','app')", name="kind"),
        UniqueConstraint("token_digest"),
        Index("ix_subscriber_sessions_login", "login_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # ses_…
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    login_id: Mapped[str] = mapped_column(ForeignKey("subscriber_logins.id"))
    kind: Mapped[str] = mapped_column(String(8))
    token_digest: Mapped[str | None] = mapped_column(String(64))  # portal: the cookie's; app: None
    device_name: Mapped[str | None] = mapped_column(String(200))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
