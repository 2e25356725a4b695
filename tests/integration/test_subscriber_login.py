"""Password login on the real database: the same 401 for a wrong password and an unknown e-mail, the
lockout after 5 failures with its Retry-After (doubling), the per-address rate limit, the session
cookie's flags, and logout."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
import time_machine

from activities.identity.passwords import hash_password
from models.base import unit_of_work, utcnow
from models.subscribers import SubscriberLogin
from runtime.settings import Settings
from tests.support.factories import Tenant
from tests.support.identity_support import (
    PASSWORD,
    api_from_own_address,
    cookie_header,
    make_login,
    session_cookie,
)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_from_own_address(settings) as client:
        yield client


def _login(email: str, password: str, org: str, ip: str | None = None) -> dict[str, object]:
    return {"email": email, "password": password, "organisation_id": org}


async def test_login_sets_a_secure_cookie_and_logout_revokes_it(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account_id, email = make_login(database_url, operator.organisation_id)
    resp = await api.post(
        "/v1/subscriber-auth/login", json=_login(email.upper(), PASSWORD, operator.organisation_id)
    )
    assert resp.status_code == 200, resp.text
    cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    token = session_cookie(cookie)
    me = await api.get("/v1/me", headers=cookie_header(token))
    assert me.status_code == 200 and me.json()["account_id"] == account_id
    assert me.json()["session_id"] == resp.json()["session_id"]

    no_csrf = await api.post("/v1/subscriber-auth/logout", headers=cookie_header(token))
    assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "csrf_token_invalid"
    out = await api.post(
        "/v1/subscriber-auth/logout",
        headers={**cookie_header(token), "X-CSRF-Token": resp.json()["csrf_token"]},
    )
    assert out.status_code == 200 and 'mb_session=""' in out.headers["set-cookie"]
    assert (await api.get("/v1/me", headers=cookie_header(token))).status_code == 401


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    _, email = make_login(database_url, operator.organisation_id)
    wrong = await api.post(
        "/v1/subscriber-auth/login", json=_login(email, "not-the-password-1", operator.organisation_id)
    )
    unknown = await api.post(
        "/v1/subscriber-auth/login",
        json=_login("nobody.here@example.com", PASSWORD, operator.organisation_id),
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["content-type"].startswith("application/problem+json")
    strip = ("request_id", "instance")
    assert {k: v for k, v in wrong.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }
    assert wrong.json()["code"] == "invalid_credentials"
    assert "set-cookie" not in wrong.headers


async def test_an_unverified_email_cannot_sign_in_with_its_password(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    _, email = make_login(database_url, operator.organisation_id, verified=False)
    resp = await api.post("/v1/subscriber-auth/login", json=_login(email, PASSWORD, operator.organisation_id))
    assert resp.status_code == 403 and resp.json()["code"] == "email_not_verified"


async def test_five_failures_lock_the_login_for_15_minutes_then_30(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    _, email = make_login(database_url, operator.organisation_id)
    org = operator.organisation_id
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(5):
            r = await api.post("/v1/subscriber-auth/login", json=_login(email, "wrong-password-xyz", org))
            assert r.status_code == 401
        locked = await api.post("/v1/subscriber-auth/login", json=_login(email, PASSWORD, org))
        assert locked.status_code == 429 and locked.json()["code"] == "login_locked"
        assert locked.headers["retry-after"] == str(15 * 60)
        with unit_of_work(database_url) as session:
            login = session.scalar(sa.select(SubscriberLogin).where(SubscriberLogin.email == email))
            assert login is not None and login.locked_until == start + timedelta(minutes=15)

        clock.shift(timedelta(minutes=10))
        still = await api.post("/v1/subscriber-auth/login", json=_login(email, PASSWORD, org))
        assert still.status_code == 429 and still.headers["retry-after"] == str(5 * 60)

        clock.shift(timedelta(minutes=5, seconds=1))
        for _ in range(5):
            r = await api.post("/v1/subscriber-auth/login", json=_login(email, "wrong-password-xyz", org))
            assert r.status_code == 401
        again = await api.post("/v1/subscriber-auth/login", json=_login(email, PASSWORD, org))
        assert again.status_code == 429 and again.headers["retry-after"] == str(30 * 60)

        clock.shift(timedelta(minutes=31))
        ok = await api.post("/v1/subscriber-auth/login", json=_login(email, PASSWORD, org))
        assert ok.status_code == 200, ok.text


async def test_an_unknown_email_is_locked_like_a_known_one(api: httpx.AsyncClient, operator: Tenant) -> None:
    org = operator.organisation_id
    for _ in range(5):
        await api.post(
            "/v1/subscriber-auth/login", json=_login("ghost.user@example.com", "wrong-password-xyz", org)
        )
    locked = await api.post(
        "/v1/subscriber-auth/login", json=_login("ghost.user@example.com", "wrong-password-xyz", org)
    )
    assert locked.status_code == 429 and locked.json()["code"] == "login_locked"


async def test_one_address_is_rate_limited_across_emails(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    org = operator.organisation_id
    _, victim = make_login(database_url, org)
    with time_machine.travel(utcnow(), tick=False) as clock:
        for n in range(20):  # a spray: one try per address, 20 addresses, from one client
            r = await api.post(
                "/v1/subscriber-auth/login", json=_login(f"spray{n}@example.com", "wrong-password-xyz", org)
            )
            assert r.status_code == 401
        limited = await api.post("/v1/subscriber-auth/login", json=_login(victim, PASSWORD, org))
        assert limited.status_code == 429 and limited.json()["code"] == "login_rate_limited"
        assert 0 < int(limited.headers["retry-after"]) <= 15 * 60
        clock.shift(timedelta(minutes=16))
        ok = await api.post("/v1/subscriber-auth/login", json=_login(victim, PASSWORD, org))
        assert ok.status_code == 200, ok.text


async def test_an_outdated_hash_is_upgraded_at_login(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    from argon2 import PasswordHasher

    _, email = make_login(database_url, operator.organisation_id)
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    with unit_of_work(database_url) as session:
        login = session.scalar(sa.select(SubscriberLogin).where(SubscriberLogin.email == email))
        assert login is not None
        login.password_hash = weak
    resp = await api.post("/v1/subscriber-auth/login", json=_login(email, PASSWORD, operator.organisation_id))
    assert resp.status_code == 200
    with unit_of_work(database_url) as session:
        stored = session.scalar(
            sa.select(SubscriberLogin.password_hash).where(SubscriberLogin.email == email)
        )
    assert stored != weak and stored is not None and stored.startswith("$argon2id$")
    assert hash_password(PASSWORD) != stored  # salted


async def test_a_cross_site_form_cannot_sign_anyone_in(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    """Login CSRF through the API: only JSON is read, which another site cannot send without CORS."""
    _, email = make_login(database_url, operator.organisation_id)
    fields = {"email": email, "password": PASSWORD, "organisation_id": operator.organisation_id}
    as_form = await api.post("/v1/subscriber-auth/login", data=fields)
    assert as_form.status_code == 422 and "set-cookie" not in as_form.headers
    as_text = await api.post(
        "/v1/subscriber-auth/login", content=json.dumps(fields), headers={"Content-Type": "text/plain"}
    )
    assert as_text.status_code == 422 and "set-cookie" not in as_text.headers
