"""The identity area's own tables: login throttles, one-time e-mail links, sign-up requests, and the app's
OAuth 2.0 clients, authorization codes and tokens (secrets kept as SHA-256 digests only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class LoginThrottle(Base):
    """Failed logins counted per key (``email:<org>:<email>`` or ``ip:<address>``), in PostgreSQL so that
    every API process sees them. An unknown e-mail is counted like a known one (no enumeration)."""

    __tablename__ = "subscriber_login_throttles"
    __table_args__ = (
        CheckConstraint("failures >= 0 AND lockouts >= 0", name="counts"),
        Index("ix_subscriber_login_throttles_updated_at", "updated_at"),  # the daily prune
    )

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginLink(Base):
    """A one-time e-mailed link: sign in (15 min) or reset the password (1 h); single use."""

    __tablename__ = "subscriber_login_links"
    __table_args__ = (
        CheckConstraint("purpose in ('login','reset')", name="purpose"),
        UniqueConstraint("token_digest"),
        Index("ix_subscriber_login_links_expires_at", "expires_at"),  # the daily prune
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # lnk_…
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    login_id: Mapped[str] = mapped_column(ForeignKey("subscriber_logins.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(8))
    token_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class SignupRequest(Base):
    """What a self-registration asked for besides the login: the plan to subscribe to once verified."""

    __tablename__ = "subscriber_signups"

    login_id: Mapped[str] = mapped_column(ForeignKey("subscriber_logins.id"), primary_key=True)
    plan_code: Mapped[str | None] = mapped_column(String(64))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthClient(Base):
    """A registered public client (the operator's app): PKCE, no secret."""

    __tablename__ = "oauth_clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the client_id
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    redirect_uris: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class OAuthCode(Base):
    """An authorization code (its digest): one use, 5 minutes, bound to the PKCE challenge."""

    __tablename__ = "oauth_codes"
    __table_args__ = (
        UniqueConstraint("code_digest"),
        Index("ix_oauth_codes_expires_at", "expires_at"),  # the daily prune
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # oac_…
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.id"))
    login_id: Mapped[str] = mapped_column(ForeignKey("subscriber_logins.id"))
    code_digest: Mapped[str] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(200), default="")
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class OAuthToken(Base):
    """One access token and its refresh token, of an app installation (a subscriber_sessions row of kind
    'app'). Refreshing rotates: the old row is marked ``rotated_at``; presenting it again revokes the
    whole installation (a stolen refresh token was used)."""

    __tablename__ = "oauth_tokens"
    __table_args__ = (
        UniqueConstraint("access_digest"),
        UniqueConstraint("refresh_digest"),
        Index("ix_oauth_tokens_installation", "installation_id"),
        Index("ix_oauth_tokens_refresh_expires_at", "refresh_expires_at"),  # the daily prune
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # oat_…
    installation_id: Mapped[str] = mapped_column(ForeignKey("subscriber_sessions.id"))
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.id"))
    scope: Mapped[str] = mapped_column(String(200), default="")
    access_digest: Mapped[str] = mapped_column(String(64))
    refresh_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    access_expires_at: Mapped[datetime]
    refresh_expires_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
