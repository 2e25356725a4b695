"""Portal sessions: found by the cookie's token only while live, scoped to the account and its children,
revocable, with their own CSRF token."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from activities.identity.sessions import csrf_matches, find_portal_session, revoke_session, visible_accounts
from domain.ids import new_id
from models.accounts import Account
from models.base import unit_of_work, utcnow
from models.subscribers import SubscriberSession
from tests.support.factories import make_operator
from tests.support.subscribers import sign_in


def _account(session: sa.orm.Session, org: str, parent: str | None = None) -> str:
    account = Account(
        id=new_id("acc"),
        organisation_id=org,
        parent_account_id=parent,
        type="company",
        display_name="Acme",
        email=f"{uuid.uuid4().hex[:8]}@acme.example",
        currency="EUR",
        timezone="Europe/Madrid",
    )
    session.add(account)
    session.flush()
    return account.id


def test_a_session_sees_its_account_and_children_and_stops_when_revoked(database_url: str) -> None:
    org = make_operator(database_url).organisation_id
    with unit_of_work(database_url) as session:
        parent = _account(session, org)
        child = _account(session, org, parent)
        grandchild = _account(session, org, child)
        other = _account(session, org)
    signed = sign_in(database_url, parent)
    with unit_of_work(database_url) as session:
        found = find_portal_session(session, signed.token)
        assert found is not None
        assert found.subscriber.account_ids[0] == parent
        assert set(found.subscriber.account_ids) == {parent, child, grandchild}
        assert not found.subscriber.may_see(other)
        assert csrf_matches(found, signed.csrf_token)
        assert not csrf_matches(found, signed.token)
        assert not csrf_matches(found, None)
        assert find_portal_session(session, signed.csrf_token) is None
        assert visible_accounts(session, child) == (child, grandchild)
    other_login = sign_in(database_url, other)
    with unit_of_work(database_url) as session:
        assert not revoke_session(session, other_login.login_id, signed.session_id)
        assert revoke_session(session, signed.login_id, signed.session_id)
    with unit_of_work(database_url) as session:
        assert find_portal_session(session, signed.token) is None
        assert find_portal_session(session, other_login.token) is not None


def test_an_expired_session_is_not_found(database_url: str) -> None:
    org = make_operator(database_url).organisation_id
    with unit_of_work(database_url) as session:
        account = _account(session, org)
    signed = sign_in(database_url, account)
    with unit_of_work(database_url) as session:
        session.get(SubscriberSession, signed.session_id).expires_at = utcnow()  # type: ignore[union-attr]
    with unit_of_work(database_url) as session:
        assert find_portal_session(session, signed.token) is None
