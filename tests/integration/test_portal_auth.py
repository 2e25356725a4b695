"""The portal's sign-in pages over HTTP: labelled forms, the pre-session token against login CSRF (and a
foreign Origin refused), errors shown with role="alert", the redirect to a safe ``next`` only, the
e-mailed link's landing page (a button: opening the link uses nothing), sign up refusing a weak password,
log out with the session's CSRF token, and the Spanish texts."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

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


@pytest.fixture
async def portal(settings: Settings, operator: Tenant) -> AsyncIterator[httpx.AsyncClient]:
    pinned = settings.model_copy()
    object.__setattr__(pinned, "portal_operator", operator.organisation_id)  # MULTIBILL_PORTAL_OPERATOR
    async with api_from_own_address(pinned) as client:
        yield client


def form_token(page: httpx.Response) -> str:
    found = re.search(r'name="form_token" value="([0-9a-f]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def test_login_page_has_labelled_fields_and_refuses_a_forged_form(
    portal: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    _, email = make_login(database_url, operator.organisation_id)
    page = await portal.get("/portal/login")
    assert page.status_code == 200
    for field in ("email", "password", "link-email"):
        assert f'<label for="{field}">' in page.text and f'id="{field}"' in page.text
    cookie = page.headers["set-cookie"]
    assert "mb_form=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie

    forged = await portal.post(
        "/portal/login", data={"form_token": "0" * 64, "email": email, "password": PASSWORD}
    )
    assert (
        forged.status_code == 403
        and 'role="alert"' in forged.text
        and "mb_session" not in str(forged.headers.get("set-cookie"))
    )
    foreign = await portal.post(
        "/portal/login",
        data={"form_token": form_token(page), "email": email, "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403


@pytest.mark.parametrize(
    ("asked", "lands"),
    [
        ("/portal/invoices?page=2", "/portal/invoices?page=2"),
        ("https://evil.example/portal/", "/portal/"),
        ("//evil.example/portal/", "/portal/"),
        ("/\\evil.example", "/portal/"),
        ("/v1/accounts", "/portal/"),
    ],
)
async def test_login_redirects_to_a_safe_next_only(
    portal: httpx.AsyncClient, operator: Tenant, database_url: str, asked: str, lands: str
) -> None:
    account_id, email = make_login(database_url, operator.organisation_id)
    page = await portal.get("/portal/login", params={"next": asked})
    resp = await portal.post(
        "/portal/login",
        data={"form_token": form_token(page), "next": asked, "email": email, "password": PASSWORD},
    )
    assert resp.status_code == 303 and resp.headers["location"] == lands
    token = session_cookie(resp.headers["set-cookie"])
    me = await portal.get("/v1/me", headers=cookie_header(token))
    assert me.json()["account_id"] == account_id


async def test_a_wrong_password_is_shown_on_the_page(
    portal: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    _, email = make_login(database_url, operator.organisation_id)
    page = await portal.get("/portal/login")
    resp = await portal.post(
        "/portal/login", data={"form_token": form_token(page), "email": email, "password": "wrong-password-1"}
    )
    assert resp.status_code == 401
    assert re.search(r'role="alert"[^>]*>The e-mail or the password is wrong', resp.text)
    assert f'value="{email}"' in resp.text  # the address stays filled in


async def test_link_login_through_the_pages(
    portal: httpx.AsyncClient, operator: Tenant, database_url: str, settings: Settings, smtp_server: SmtpSink
) -> None:
    account_id, email = make_login(database_url, operator.organisation_id)
    page = await portal.get("/portal/login")
    sent = await portal.post(
        "/portal/login/link-request", data={"form_token": form_token(page), "email": email}
    )
    assert sent.status_code == 200 and 'id="sent-message"' in sent.text
    deliver(settings, smtp_server)
    token = link_token(smtp_server, email, "/portal/login/link")

    landing = await portal.get("/portal/login/link", params={"token": token})
    assert landing.status_code == 200 and 'id="link-login-form"' in landing.text
    landing_again = await portal.get("/portal/login/link", params={"token": token})  # a mail scanner
    assert 'id="link-login-form"' in landing_again.text
    done = await portal.post("/portal/login/link", data={"form_token": form_token(landing), "token": token})
    assert done.status_code == 303 and done.headers["location"] == "/portal/"
    session = session_cookie(done.headers["set-cookie"])
    assert (await portal.get("/v1/me", headers=cookie_header(session))).json()["account_id"] == account_id

    reused = await portal.post("/portal/login/link", data={"form_token": form_token(landing), "token": token})
    assert reused.status_code == 410 and 'role="alert"' in reused.text and "already used" in reused.text


async def test_signup_refuses_a_weak_password_on_the_page(portal: httpx.AsyncClient) -> None:
    page = await portal.get("/portal/signup")
    for field in ("given_name", "family_name", "email", "password", "plan_code"):
        assert f'<label for="{field}">' in page.text
    resp = await portal.post(
        "/portal/signup",
        data={
            "form_token": form_token(page),
            "given_name": "Ana",
            "family_name": "Gil",
            "email": "ana.gil.weak@example.com",
            "password": "password1234",
        },
    )
    assert resp.status_code == 422 and 'role="alert"' in resp.text and "too common" in resp.text
    assert 'value="ana.gil.weak@example.com"' in resp.text


async def test_logout_needs_the_sessions_csrf_token(
    portal: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    _, email = make_login(database_url, operator.organisation_id)
    page = await portal.get("/portal/login")
    signed = await portal.post(
        "/portal/login", data={"form_token": form_token(page), "email": email, "password": PASSWORD}
    )
    token = session_cookie(signed.headers["set-cookie"])
    csrf = (await portal.get("/v1/me", headers=cookie_header(token))).status_code
    assert csrf == 200
    from activities.identity.sessions import csrf_token_for

    refused = await portal.post("/portal/logout", data={"csrf_token": "nope"}, headers=cookie_header(token))
    assert refused.status_code == 403
    out = await portal.post(
        "/portal/logout", data={"csrf_token": csrf_token_for(token)}, headers=cookie_header(token)
    )
    assert out.status_code == 303 and out.headers["location"] == "/portal/login"
    assert (await portal.get("/v1/me", headers=cookie_header(token))).status_code == 401


async def test_pages_speak_spanish(portal: httpx.AsyncClient) -> None:
    page = await portal.get("/portal/forgot", params={"lang": "es"})
    assert page.status_code == 200 and "Has olvidado tu contraseña" in page.text
    assert '<html lang="es">' in page.text


async def test_the_app_signs_in_through_the_portals_login_page(
    portal: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    from urllib.parse import parse_qs, unquote, urlsplit

    from activities.identity.clients import register_client
    from models.base import unit_of_work

    client_id = f"app-{operator.organisation_id[-8:].lower()}"
    with unit_of_work(database_url) as session:
        register_client(session, operator.organisation_id, client_id, "App", ["com.example.app:/cb"])
    _, email = make_login(database_url, operator.organisation_id)
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": "com.example.app:/cb",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
        "state": "abc",
    }
    first = await portal.get("/oauth/authorize", params=query)
    assert first.status_code == 303
    login_at = first.headers["location"]
    next_url = unquote(login_at.split("next=", 1)[1])
    assert next_url.startswith("/oauth/authorize?")
    page = await portal.get(login_at)
    assert f'name="next" value="{next_url}"'.replace("&", "&amp;") in page.text
    signed = await portal.post(
        "/portal/login",
        data={"form_token": form_token(page), "next": next_url, "email": email, "password": PASSWORD},
    )
    assert signed.status_code == 303 and signed.headers["location"] == next_url
    token = session_cookie(signed.headers["set-cookie"])
    granted = await portal.get(next_url, headers=cookie_header(token))
    assert granted.status_code == 302
    back = urlsplit(granted.headers["location"])
    assert back.scheme == "com.example.app" and parse_qs(back.query)["state"] == ["abc"]
    assert parse_qs(back.query)["code"][0]
