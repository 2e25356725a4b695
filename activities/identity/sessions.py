"""Portal sessions: opened after a login, found by the cookie's token, revoked on logout.

The cookie carries a random token; the database keeps its SHA-256 digest only, so a leaked table opens no
session. Each portal session has its own CSRF token, an HMAC of the cookie's token (so nothing more is
stored and the server can put it in every form it renders), sent back by the portal's forms (a hidden
field) and by script calls (the ``X-CSRF-Token`` header) on every unsafe request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.ids import new_id
from domain.subscribers import SessionKind, Subscriber
from models.accounts import Account
from models.base import utcnow
from models.subscribers import SubscriberLogin, SubscriberSession

PORTAL_SESSION_LIFETIME = timedelta(days=14)
_TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is written at most this often per session


def digest(secret: str) -> str:
    """The stored form of a token: its SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token_for(session_token: str) -> str:
    """The CSRF token of the portal session whose cookie carries ``session_token``."""
    return hmac.new(session_token.encode(), b"multibill portal csrf", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class OpenedSession:
    session_id: str
    token: str  # for the cookie; shown once, never stored
    csrf_token: str
    expires_at: datetime


def open_portal_session(
    session: Session,
    login: SubscriberLogin,
    *,
    user_agent: str | None = None,
    ip_address: str | None = None,
    lifetime: timedelta = PORTAL_SESSION_LIFETIME,
) -> OpenedSession:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = SubscriberSession(
        id=new_id("ses"),
        organisation_id=login.organisation_id,
        login_id=login.id,
        kind=SessionKind.PORTAL.value,
        token_digest=digest(token),
        device_name=_device_name(user_agent),
        user_agent=(user_agent or "")[:500] or None,
        ip_address=ip_address,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    return OpenedSession(row.id, token, csrf_token_for(token), row.expires_at)


def visible_accounts(session: Session, account_id: str) -> tuple[str, ...]:
    """The account and, for a B2B parent, its children at any depth (own account first)."""
    tree = sa.select(Account.id).where(Account.id == account_id).cte("tree", recursive=True)
    tree = tree.union(sa.select(Account.id).join(tree, Account.parent_account_id == tree.c.id))
    children = sorted(session.scalars(sa.select(tree.c.id)).all())
    return (account_id, *[a for a in children if a != account_id])


def subscriber_for(session: Session, login: SubscriberLogin, row: SubscriberSession) -> Subscriber:
    return Subscriber(
        login_id=login.id,
        organisation_id=login.organisation_id,
        account_id=login.account_id,
        account_ids=visible_accounts(session, login.account_id),
        session_id=row.id,
        kind=SessionKind(row.kind),
    )


@dataclass(frozen=True)
class FoundSession:
    subscriber: Subscriber
    csrf_token: str  # to put in the pages' forms


def find_portal_session(session: Session, token: str) -> FoundSession | None:
    """The live portal session of a cookie's token (not expired, not revoked, login not locked out)."""
    now = utcnow()
    found = session.execute(
        sa.select(SubscriberSession, SubscriberLogin)
        .join(SubscriberLogin, SubscriberLogin.id == SubscriberSession.login_id)
        .where(
            SubscriberSession.token_digest == digest(token),
            SubscriberSession.kind == SessionKind.PORTAL.value,
            SubscriberSession.revoked_at.is_(None),
            SubscriberSession.expires_at > now,
        )
    ).first()
    if found is None:
        return None
    row, login = found
    if now - row.last_seen_at > _TOUCH_EVERY:
        row.last_seen_at = now
    return FoundSession(subscriber_for(session, login, row), csrf_token_for(token))


def csrf_matches(found: FoundSession, csrf_token: str | None) -> bool:
    if not csrf_token:
        return False
    return hmac.compare_digest(csrf_token.encode(), found.csrf_token.encode())


def revoke_session(session: Session, login_id: str, session_id: str) -> bool:
    """Log one browser or app installation out (its tokens stop working). False if not the login's."""
    row = session.get(SubscriberSession, session_id)
    if row is None or row.login_id != login_id:
        return False
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return True


def _device_name(user_agent: str | None) -> str | None:
    if not user_agent:
        return None
    for marker, name in (
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Mac OS", "Mac"),
        ("Windows", "Windows"),
        ("Linux", "Linux"),
    ):
        if marker in user_agent:
            return name
    return None
