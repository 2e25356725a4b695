"""The app's OAuth 2.0 tokens (authorization code with PKCE, short-lived access tokens, rotating refresh
tokens, one app installation per subscriber_sessions row of kind 'app'): who an access token is, and the
devices (portal sessions and app installations) a login has signed in on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from activities.identity.sessions import digest, subscriber_for
from domain.subscribers import Subscriber
from models.base import utcnow
from models.identity import OAuthToken
from models.subscribers import SubscriberLogin, SubscriberSession


def find_app_subscriber(session: Session, access_token: str) -> Subscriber | None:
    """The subscriber of a live access token; None if unknown, expired or its installation is revoked."""
    now = utcnow()
    found = session.execute(
        sa.select(SubscriberSession, SubscriberLogin)
        .join(OAuthToken, OAuthToken.installation_id == SubscriberSession.id)
        .join(SubscriberLogin, SubscriberLogin.id == SubscriberSession.login_id)
        .where(
            OAuthToken.access_digest == digest(access_token),
            OAuthToken.revoked_at.is_(None),
            OAuthToken.access_expires_at > now,
            SubscriberSession.revoked_at.is_(None),
            SubscriberSession.expires_at > now,
        )
    ).first()
    if found is None:
        return None
    installation, login = found
    return subscriber_for(session, login, installation)


@dataclass(frozen=True)
class Device:
    id: str
    kind: str
    device_name: str | None
    user_agent: str | None
    ip_address: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool


def live_sessions(session: Session, login_id: str, current_id: str) -> list[Device]:
    """The login's live portal sessions and app installations, newest first."""
    now = utcnow()
    rows = session.scalars(
        sa.select(SubscriberSession)
        .where(
            SubscriberSession.login_id == login_id,
            SubscriberSession.revoked_at.is_(None),
            SubscriberSession.expires_at > now,
        )
        .order_by(SubscriberSession.created_at.desc(), SubscriberSession.id.desc())
    ).all()
    return [
        Device(
            r.id,
            r.kind,
            r.device_name,
            r.user_agent,
            r.ip_address,
            r.created_at,
            r.last_seen_at,
            r.expires_at,
            r.id == current_id,
        )
        for r in rows
    ]


def revoke_device(session: Session, login_id: str, session_id: str) -> bool:
    """Sign one device out (a portal session or an app installation with its tokens); False if the id is
    not one of the login's live devices."""
    row = session.get(SubscriberSession, session_id)
    if row is None or row.login_id != login_id or row.revoked_at is not None:
        return False
    now = utcnow()
    row.revoked_at = now
    session.execute(
        sa.update(OAuthToken)
        .where(OAuthToken.installation_id == session_id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return True
