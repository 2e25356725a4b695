"""Signed-in subscribers for tests: a login on an account and an open portal session, made directly in
the database (the login flows themselves are tested in tests/integration/test_subscriber_identity*.py)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from activities.identity.sessions import open_portal_session
from domain.ids import new_id
from domain.subscribers import CSRF_HEADER, SESSION_COOKIE
from models.accounts import Account
from models.base import unit_of_work, utcnow
from models.subscribers import SubscriberLogin


@dataclass(frozen=True)
class SignedIn:
    login_id: str
    account_id: str
    session_id: str
    token: str
    csrf_token: str

    @property
    def cookies(self) -> dict[str, str]:
        return {SESSION_COOKIE: self.token}

    @property
    def write_headers(self) -> dict[str, str]:
        """The headers an unsafe request needs besides the cookie (add your own Idempotency-Key)."""
        return {CSRF_HEADER: self.csrf_token}


def sign_in(database_url: str, account_id: str) -> SignedIn:
    """A verified login for the account (made if missing) and a fresh portal session."""
    with unit_of_work(database_url) as session:
        login = session.scalar(sa.select(SubscriberLogin).where(SubscriberLogin.account_id == account_id))
        if login is None:
            account = session.get(Account, account_id)
            assert account is not None, account_id
            login = SubscriberLogin(
                id=new_id("usr"),
                organisation_id=account.organisation_id,
                account_id=account.id,
                email=f"{account.id.lower()}@subscribers.example",
                email_verified_at=utcnow(),
                failed_attempts=0,
            )
            session.add(login)
            session.flush()
        opened = open_portal_session(session, login, user_agent="pytest")
        return SignedIn(login.id, account_id, opened.session_id, opened.token, opened.csrf_token)
