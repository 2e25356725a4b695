"""One-time e-mailed links through the real notification sending and the SMTP sink: a sign-in link
works once (then ``link_used``) and not after 15 minutes (``link_expired``); asking for an unknown
address answers the same and sends nothing; a password reset sets the new password and signs out every
other device (portal sessions and app installations)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import time_machine

from models.base import utcnow
from runtime.settings import Settings
from tests.support.factories import Tenant
from tests.support.identity_support import (
    PASSWORD,
    api_from_own_address,
    cookie_header,
    deliver,
    link_token,
    make_login,
    session_cookie,
)
from tests.support.smtp import SmtpSink
from tests.support.subscribers import sign_in


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_from_own_address(settings) as client:
        yield client


async def test_a_login_link_works_once(
    api: httpx.AsyncClient, operator: Tenant, database_url: str, settings: Settings, smtp_server: SmtpSink
) -> None:
    account_id, email = make_login(database_url, operator.organisation_id)
    asked = await api.post(
        "/v1/subscriber-auth/login-links", json={"email": email, "organisation_id": operator.organisation_id}
    )
    assert asked.status_code == 202 and asked.json()["status"] == "link_sent"
    deliver(settings, smtp_server)
    token = link_token(smtp_server, email, "/portal/login/link")

    used = await api.post("/v1/subscriber-auth/login-links/redeem", json={"token": token})
    assert used.status_code == 200, used.text
    me = await api.get("/v1/me", headers=cookie_header(session_cookie(used.headers["set-cookie"])))
    assert me.json()["account_id"] == account_id

    again = await api.post("/v1/subscriber-auth/login-links/redeem", json={"token": token})
    assert again.status_code == 410 and again.json()["code"] == "link_used"
    forged = await api.post("/v1/subscriber-auth/login-links/redeem", json={"token": "x" * 43})
    assert forged.status_code == 404 and forged.json()["code"] == "link_invalid"


async def test_a_login_link_expires_after_15_minutes(
    api: httpx.AsyncClient, operator: Tenant, database_url: str, settings: Settings, smtp_server: SmtpSink
) -> None:
    _, email = make_login(database_url, operator.organisation_id)
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        await api.post(
            "/v1/subscriber-auth/login-links",
            json={"email": email, "organisation_id": operator.organisation_id},
        )
        deliver(settings, smtp_server, start)
        token = link_token(smtp_server, email, "/portal/login/link")
        clock.shift(timedelta(minutes=15, seconds=1))
        late = await api.post("/v1/subscriber-auth/login-links/redeem", json={"token": token})
    assert late.status_code == 410 and late.json()["code"] == "link_expired"


async def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    api: httpx.AsyncClient, operator: Tenant, settings: Settings, smtp_server: SmtpSink
) -> None:
    email = "never.registered@example.com"
    asked = await api.post(
        "/v1/subscriber-auth/login-links", json={"email": email, "organisation_id": operator.organisation_id}
    )
    assert asked.status_code == 202 and asked.json()["status"] == "link_sent"
    deliver(settings, smtp_server)
    assert smtp_server.to(email) == []


async def test_a_reset_sets_the_password_and_signs_out_every_other_device(
    api: httpx.AsyncClient, operator: Tenant, database_url: str, settings: Settings, smtp_server: SmtpSink
) -> None:
    account_id, email = make_login(database_url, operator.organisation_id)
    laptop = sign_in(database_url, account_id)
    phone = sign_in(database_url, account_id)
    assert (await api.get("/v1/me", headers=cookie_header(laptop.token))).status_code == 200

    await api.post(
        "/v1/subscriber-auth/password-resets",
        json={"email": email, "organisation_id": operator.organisation_id},
    )
    deliver(settings, smtp_server)
    token = link_token(smtp_server, email, "/portal/reset")
    weak = await api.post(
        "/v1/subscriber-auth/password-resets/redeem", json={"token": token, "password": "password1234"}
    )
    assert weak.status_code == 422 and weak.json()["code"] == "password_too_common"
    new_password = "another-long-secret-77"
    done = await api.post(
        "/v1/subscriber-auth/password-resets/redeem", json={"token": token, "password": new_password}
    )
    assert done.status_code == 200, done.text
    for other in (laptop, phone):
        assert (await api.get("/v1/me", headers=cookie_header(other.token))).status_code == 401
    fresh = session_cookie(done.headers["set-cookie"])
    assert (await api.get("/v1/me", headers=cookie_header(fresh))).status_code == 200

    login = {"email": email, "organisation_id": operator.organisation_id}
    old = await api.post("/v1/subscriber-auth/login", json={**login, "password": PASSWORD})
    assert old.status_code == 401
    new = await api.post("/v1/subscriber-auth/login", json={**login, "password": new_password})
    assert new.status_code == 200
    reused = await api.post(
        "/v1/subscriber-auth/password-resets/redeem",
        json={"token": token, "password": "yet-another-secret-88"},
    )
    assert reused.status_code == 410 and reused.json()["code"] == "link_used"


async def test_at_most_five_links_an_hour_reach_one_address(
    api: httpx.AsyncClient, operator: Tenant, database_url: str, settings: Settings, smtp_server: SmtpSink
) -> None:
    _, email = make_login(database_url, operator.organisation_id)
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        for path in ["login-links", "password-resets"] * 3:
            asked = await api.post(
                f"/v1/subscriber-auth/{path}",
                json={"email": email, "organisation_id": operator.organisation_id},
            )
            assert asked.status_code == 202
        deliver(settings, smtp_server, start)
        assert len(smtp_server.to(email)) == 5
        clock.shift(timedelta(hours=1, seconds=1))
        await api.post(
            "/v1/subscriber-auth/login-links",
            json={"email": email, "organisation_id": operator.organisation_id},
        )
        deliver(settings, smtp_server, utcnow())
    assert len(smtp_server.to(email)) == 6
