"""Signing in with a password: throttled (activities/identity/throttle.py), the same answer for a wrong
password and an unknown e-mail, a verified e-mail required, the hash upgraded when argon2's parameters
changed; a success opens a portal session (activities/identity/sessions.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from activities.identity import throttle
from activities.identity.errors import Refused, invalid_credentials
from activities.identity.passwords import hash_password, needs_rehash, verify_password
from activities.identity.registration import find_login
from activities.identity.sessions import OpenedSession, open_portal_session
from models.accounts import Account
from models.subscribers import SubscriberLogin


def email_verified(session: Session, login: SubscriberLogin, now: datetime) -> bool:
    """Whether the login's e-mail is verified; set on the login once its account is verified."""
    if login.email_verified_at is not None:
        return True
    account = session.get(Account, login.account_id)
    if account is not None and account.verification_status == "verified" and account.email == login.email:
        login.email_verified_at = account.verified_at or now
        return True
    return False


def password_login(
    session: Session,
    organisation_id: str,
    email: str,
    password: str,
    *,
    now: datetime,
    ip_address: str | None = None,
    user_agent: str | None = None,
) -> OpenedSession | Refused:
    """A new portal session, or why not (401 invalid_credentials, 429 login_locked / login_rate_limited
    with the seconds to wait, 403 email_not_verified). Returned, not raised: the caller commits the
    counted failure before answering."""
    email_key = throttle.email_key(organisation_id, email)
    address_key = throttle.address_key(ip_address)
    stop = throttle.blocked(session, email_key, address_key, now)
    if stop is not None:
        return Refused(429, stop.code, stop.detail, retry_after=stop.retry_after)
    login = find_login(session, organisation_id, email)
    if login is None or not verify_password(login.password_hash, password):
        locked = throttle.record_failure(session, email_key, address_key, now)
        if login is not None:
            login.failed_attempts += 1
            login.locked_until = locked or login.locked_until
        return invalid_credentials()
    if not email_verified(session, login, now):
        return Refused(
            403, "email_not_verified", "Confirm your e-mail first: open the link we sent you (or ask for one)"
        )
    throttle.record_success(session, email_key, now)
    login.failed_attempts, login.locked_until = 0, None
    if login.password_hash and needs_rehash(login.password_hash):
        login.password_hash = hash_password(password)
    return open_portal_session(session, login, user_agent=user_agent, ip_address=ip_address)
