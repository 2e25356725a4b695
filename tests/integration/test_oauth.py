"""OAuth 2.0 for the app, end to end on the real database: the authorization code with PKCE (S256
only; a wrong verifier is refused), access tokens on /v1/me, refresh-token rotation with reuse detection
(the whole installation is revoked), RFC 7009 revocation, and the installation among the subscriber's
devices, signed out from /v1/me/sessions."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from activities.identity.clients import register_client
from activities.identity.sessions import digest
from activities.maintenance.activities import PartitionActivities
from activities.maintenance.io import MaintainPartitions
from domain.ids import new_id
from models.base import unit_of_work
from models.identity import LoginLink, OAuthCode, OAuthToken
from runtime.settings import Settings
from tests.support.billing_factory import make_account
from tests.support.factories import Tenant
from tests.support.identity_support import api_from_own_address, cookie_header
from tests.support.subscribers import SignedIn, sign_in

REDIRECT = "com.example.tv:/oauth/callback"


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with api_from_own_address(settings) as client:
        yield client


@dataclass
class App:
    client_id: str
    browser: SignedIn


@pytest.fixture
def app_client(database_url: str, operator: Tenant) -> App:
    client_id = f"tv-app-{uuid.uuid4().hex[:8]}"
    with unit_of_work(database_url) as session:
        register_client(session, operator.organisation_id, client_id, "TV app", [REDIRECT])
    account_id = make_account(database_url, operator.organisation_id)
    return App(client_id, sign_in(database_url, account_id))


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def authorize(api: httpx.AsyncClient, app: App, challenge: str | None, **extra: str) -> httpx.Response:
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT, "state": "s-1"}
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    params.update(extra)
    return await api.get("/oauth/authorize", params=params, headers=cookie_header(app.browser.token))


async def tokens(api: httpx.AsyncClient, app: App) -> dict[str, str]:
    verifier, challenge = pkce()
    redirected = await authorize(api, app, challenge)
    code = parse_qs(urlsplit(redirected.headers["location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    resp = await api.post(
        "/oauth/token", data={**form, "client_id": app.client_id, "code_verifier": verifier}
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_pkce_flow_end_to_end_and_a_wrong_verifier_is_refused(
    api: httpx.AsyncClient, app_client: App
) -> None:
    signed_out = await api.get(
        "/oauth/authorize", params={"response_type": "code", "client_id": app_client.client_id}
    )
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/portal/login?next=")

    no_pkce = await authorize(api, app_client, None)
    assert no_pkce.status_code == 302
    assert parse_qs(urlsplit(no_pkce.headers["location"]).query)["error"] == ["invalid_request"]
    plain = await authorize(api, app_client, "x" * 43, code_challenge_method="plain")
    assert parse_qs(urlsplit(plain.headers["location"]).query)["error"] == ["invalid_request"]
    elsewhere = await authorize(api, app_client, pkce()[1], redirect_uri="https://evil.example/cb")
    assert elsewhere.status_code == 400 and "location" not in elsewhere.headers

    verifier, challenge = pkce()
    redirected = await authorize(api, app_client, challenge)
    assert redirected.status_code == 302, redirected.text
    target = urlsplit(redirected.headers["location"])
    assert f"{target.scheme}:{target.path}" == REDIRECT
    query = parse_qs(target.query)
    assert query["state"] == ["s-1"]
    form = {"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": REDIRECT}
    form["client_id"] = app_client.client_id

    wrong = await api.post("/oauth/token", data={**form, "code_verifier": pkce()[0]})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.json()["code"] == "invalid_grant"

    issued = await api.post("/oauth/token", data={**form, "code_verifier": verifier})
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and body["refresh_token"]
    assert issued.headers["cache-control"] == "no-store"
    me = await api.get("/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["session_kind"] == "app"
    assert me.json()["account_id"] == app_client.browser.account_id

    replayed = await api.post("/oauth/token", data={**form, "code_verifier": verifier})
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"


async def test_refresh_rotates_and_reuse_revokes_the_installation(
    api: httpx.AsyncClient, app_client: App
) -> None:
    first = await tokens(api, app_client)
    refresh = {"grant_type": "refresh_token", "client_id": app_client.client_id}
    second = await api.post("/oauth/token", data={**refresh, "refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert (await api.get("/v1/me", headers=bearer(rotated["access_token"]))).status_code == 200

    stolen = await api.post("/oauth/token", data={**refresh, "refresh_token": first["refresh_token"]})
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    assert (await api.get("/v1/me", headers=bearer(rotated["access_token"]))).status_code == 401
    after = await api.post("/oauth/token", data={**refresh, "refresh_token": rotated["refresh_token"]})
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant"


async def test_revoke_signs_one_installation_out(api: httpx.AsyncClient, app_client: App) -> None:
    tv = await tokens(api, app_client)
    phone = await tokens(api, app_client)
    done = await api.post(
        "/oauth/revoke", data={"token": tv["refresh_token"], "client_id": app_client.client_id}
    )
    assert done.status_code == 200 and done.json() == {}
    assert (await api.get("/v1/me", headers=bearer(tv["access_token"]))).status_code == 401
    assert (await api.get("/v1/me", headers=bearer(phone["access_token"]))).status_code == 200
    unknown = await api.post(
        "/oauth/revoke", data={"token": "not-a-token", "client_id": app_client.client_id}
    )
    assert unknown.status_code == 200


async def test_devices_list_and_sign_out_an_app_from_the_portal(
    api: httpx.AsyncClient, app_client: App, operator: Tenant, database_url: str
) -> None:
    app = await tokens(api, app_client)
    browser = app_client.browser
    listed = await api.get("/v1/me/sessions", headers=cookie_header(browser.token))
    assert listed.status_code == 200
    devices = {d["id"]: d for d in listed.json()["data"]}
    assert devices[browser.session_id]["current"] is True and devices[browser.session_id]["kind"] == "portal"
    installations = [d for d in devices.values() if d["kind"] == "app"]
    assert len(installations) == 1 and installations[0]["current"] is False
    from_app = await api.get("/v1/me/sessions", headers=bearer(app["access_token"]))
    assert [d["id"] for d in from_app.json()["data"] if d["current"]] == [installations[0]["id"]]

    other = sign_in(database_url, make_account(database_url, operator.organisation_id))
    foreign = await api.delete(
        f"/v1/me/sessions/{other.session_id}",
        headers={**cookie_header(browser.token), **browser.write_headers},
    )
    assert foreign.status_code == 404 and foreign.json()["code"] == "session_not_found"
    assert (await api.get("/v1/me", headers=cookie_header(other.token))).status_code == 200
    staff = await api.delete(f"/v1/me/sessions/{other.session_id}", headers=operator.auth)
    assert staff.status_code == 403 and staff.json()["code"] == "subscriber_only"
    assert (await api.get("/v1/me/sessions", headers=operator.auth)).status_code == 403

    gone = await api.delete(
        f"/v1/me/sessions/{installations[0]['id']}",
        headers={**cookie_header(browser.token), **browser.write_headers},
    )
    assert gone.status_code == 204
    assert (await api.get("/v1/me", headers=bearer(app["access_token"]))).status_code == 401
    refresh = {
        "grant_type": "refresh_token",
        "client_id": app_client.client_id,
        "refresh_token": app["refresh_token"],
    }
    assert (await api.post("/oauth/token", data=refresh)).status_code == 400


def test_the_demo_app_is_registered_once(database_url: str) -> None:
    from activities.identity.clients import DEMO_CLIENT_ID, DEMO_REDIRECT_URI, seed_demo_app
    from tests.support.factories import make_operator

    demo = make_operator(database_url, name="Demo seed check")
    for _ in range(2):
        with unit_of_work(database_url) as session:
            client = seed_demo_app(session, demo.organisation_id)
            assert client.id == DEMO_CLIENT_ID and client.redirect_uris == [DEMO_REDIRECT_URI]


async def test_expired_codes_tokens_and_links_are_pruned_and_a_pruned_token_only_refused(
    api: httpx.AsyncClient, app_client: App, database_url: str, settings: Settings, operator: Tenant
) -> None:
    """The daily maintenance deletes credentials a day after they expired (dated in 1990 here, the run
    on 1990-03-01: nothing depends on today); a pruned rotated refresh token is refused, and, no longer
    known, it revokes nothing."""
    first = await tokens(api, app_client)
    refresh = {"grant_type": "refresh_token", "client_id": app_client.client_id}
    second = await api.post("/oauth/token", data={**refresh, "refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    current = second.json()
    login = app_client.browser.login_id
    expired, in_grace = datetime(1990, 2, 27, 23, 59, tzinfo=UTC), datetime(1990, 2, 28, tzinfo=UTC)
    with unit_of_work(database_url) as session:
        code = session.execute(select(OAuthCode).where(OAuthCode.login_id == login)).scalar_one()
        code.expires_at = expired
        used = session.execute(
            select(OAuthToken).where(OAuthToken.refresh_digest == digest(first["refresh_token"]))
        ).scalar_one()
        assert used.rotated_at is not None
        used.refresh_expires_at = expired
        links = [
            LoginLink(
                id=new_id("lnk"),
                organisation_id=operator.organisation_id,
                login_id=login,
                purpose="login",
                token_digest=digest(secrets.token_urlsafe(16)),
                expires_at=at,
            )
            for at in (expired, in_grace)
        ]
        session.add_all(links)
        ids = {"code": code.id, "used": used.id, "old_link": links[0].id, "new_link": links[1].id}

    maintenance = PartitionActivities(settings)
    done = maintenance.maintain(MaintainPartitions(on=date(1990, 3, 1)))
    assert done.credentials_pruned >= 3
    with unit_of_work(database_url) as session:
        assert session.get(OAuthCode, ids["code"]) is None
        assert session.get(OAuthToken, ids["used"]) is None
        assert session.get(LoginLink, ids["old_link"]) is None
        assert session.get(LoginLink, ids["new_link"]) is not None  # expired less than a day before
        assert (
            session.execute(
                select(OAuthToken).where(OAuthToken.refresh_digest == digest(current["refresh_token"]))
            ).scalar_one_or_none()
            is not None
        )

    pruned = await api.post("/oauth/token", data={**refresh, "refresh_token": first["refresh_token"]})
    assert pruned.status_code == 400 and pruned.json()["error"] == "invalid_grant"
    assert (await api.get("/v1/me", headers=bearer(current["access_token"]))).status_code == 200
    third = await api.post("/oauth/token", data={**refresh, "refresh_token": current["refresh_token"]})
    assert third.status_code == 200, third.text
