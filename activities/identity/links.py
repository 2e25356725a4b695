"""One-time e-mailed links: sign in without a password (15 minutes) and reset the password (1 hour).

The link carries a random token; the table keeps its SHA-256 digest. A link works once: opening it again
is ``link_used``, after its time ``link_expired``, an unknown token ``link_invalid``. Asking for a link
for an unknown address does nothing (the answer is the same). A reset sets the new password and revokes
every other session and app installation of the login."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from activities.identity import mail, throttle
from activities.identity.errors import Refused
from activities.identity.passwords import hash_password, password_problem
from activities.identity.registration import find_login
from activities.identity.sessions import OpenedSession, digest, open_portal_session
from domain.ids import new_id
from models.accounts import Account
from models.identity import LoginLink, OAuthToken
from models.subscribers import SubscriberLogin, SubscriberSession

LIFETIME = {"login": timedelta(minutes=15), "reset": timedelta(hours=1)}
PAGES = {"login": "/portal/login/link", "reset": "/portal/reset"}
KINDS = {"login": mail.LOGIN_LINK, "reset": mail.PASSWORD_RESET}
LINKS_PER_HOUR = 5  # links of any kind one login is sent per hour at most


def _recent_links(session: Session, login_id: str, now: datetime) -> int:
    since = now - timedelta(hours=1)
    found = select(func.count()).where(LoginLink.login_id == login_id, LoginLink.created_at > since)
    return int(session.scalar(found) or 0)


def send_link(
    session: Session, organisation_id: str, email: str, purpose: str, *, portal_url: str, now: datetime
) -> None:
    """Queue a link for the address's login, if there is one (nothing otherwise: same answer)."""
    login = find_login(session, organisation_id, email)
    if login is None or _recent_links(session, login.id, now) >= LINKS_PER_HOUR:
        return  # unknown, or asked too often (no mail bombing): the same answer
    account = session.get(Account, login.account_id)
    assert account is not None
    token = secrets.token_urlsafe(32)
    row = LoginLink(
        id=new_id("lnk"),
        organisation_id=organisation_id,
        login_id=login.id,
        purpose=purpose,
        token_digest=digest(token),
        created_at=now,
        expires_at=now + LIFETIME[purpose],
    )
    session.add(row)
    session.flush()
    link = f"{portal_url.rstrip('/')}{PAGES[purpose]}?token={token}"
    mail.queue_email(session, account=account, kind=KINDS[purpose], to=login.email, link=link, ref=row.id)


def _take(session: Session, token: str, purpose: str, now: datetime) -> tuple[LoginLink, SubscriberLogin]:
    row = session.execute(
        select(LoginLink)
        .where(LoginLink.token_digest == digest(token), LoginLink.purpose == purpose)
        .with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise Refused(404, "link_invalid", "This link is not valid; ask for a new one")
    if row.used_at is not None:
        raise Refused(410, "link_used", "This link was already used; ask for a new one")
    if row.expires_at <= now:
        raise Refused(410, "link_expired", "This link has expired; ask for a new one")
    login = session.get(SubscriberLogin, row.login_id)
    assert login is not None
    row.used_at = now
    if login.email_verified_at is None:
        login.email_verified_at = now  # the link reached the mailbox: the address is the subscriber's
    return row, login


def check_link(session: Session, token: str, purpose: str, now: datetime) -> None:
    """Refuse a link that would not work, without using it (the page before the form)."""
    _take(session, token, purpose, now)
    session.rollback()


def link_login(
    session: Session, token: str, *, now: datetime, ip_address: str | None, user_agent: str | None
) -> OpenedSession:
    _, login = _take(session, token, "login", now)
    login.failed_attempts, login.locked_until = 0, None
    return open_portal_session(session, login, user_agent=user_agent, ip_address=ip_address)


def revoke_all(session: Session, login_id: str, now: datetime) -> int:
    """Every live session and app installation of the login, and their tokens: revoked."""
    result = session.execute(
        update(SubscriberSession)
        .where(SubscriberSession.login_id == login_id, SubscriberSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(SubscriberSession.id)
    )
    ids = [r[0] for r in result]
    if ids:
        session.execute(
            update(OAuthToken)
            .where(OAuthToken.installation_id.in_(ids), OAuthToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    return len(ids)


def reset_password(
    session: Session,
    token: str,
    password: str,
    *,
    now: datetime,
    ip_address: str | None,
    user_agent: str | None,
) -> OpenedSession:
    """Set the new password, sign out everywhere else, and open a session for this browser."""
    link, login = _take(session, token, "reset", now)
    problem = password_problem(password, login.email)
    if problem is not None:
        link.used_at = None
        raise problem
    login.password_hash = hash_password(password)
    login.failed_attempts, login.locked_until = 0, None
    throttle.record_success(session, throttle.email_key(login.organisation_id, login.email), now)
    revoke_all(session, login.id, now)
    return open_portal_session(session, login, user_agent=user_agent, ip_address=ip_address)
