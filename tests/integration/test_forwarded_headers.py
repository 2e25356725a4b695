"""Behind an ingress the portal's links and redirects use the address the visitor used
(X-Forwarded-Proto/Host), but only when the connecting peer is a trusted proxy
(MULTIBILL_FORWARDED_ALLOW_IPS).
The portal's landing page reads its operator's branding, hence the database."""

from __future__ import annotations

import re

import httpx
import pytest

from api.app import create_app
from api.forwarded import ForwardedHeaders
from runtime.settings import Settings
from tests.support.factories import make_operator

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "billing.example.com", "Host": "multibill-api"}
STYLESHEET = re.compile(r'href="([^"]*portal\.css)"')


@pytest.fixture
def portal_settings(settings: Settings, database_url: str) -> Settings:
    operator = make_operator(database_url)
    return settings.model_copy(update={"portal_operator": operator.organisation_id})


def client(settings: Settings, allow: str, peer: str) -> httpx.AsyncClient:
    app = create_app(settings.model_copy(update={"forwarded_allow_ips": allow}))
    transport = httpx.ASGITransport(app=app, client=(peer, 41234))
    return httpx.AsyncClient(transport=transport, base_url="http://multibill-api")


async def test_links_and_redirects_use_the_forwarded_scheme_and_host_from_a_trusted_proxy(
    portal_settings: Settings,
) -> None:
    async with client(portal_settings, "10.0.0.0/8", peer="10.42.0.7") as http:
        page = await http.get("/portal/", headers=FORWARDED)
        redirect = await http.get("/portal", headers=FORWARDED)
    assert page.status_code == 200
    assert STYLESHEET.findall(page.text) == ["https://billing.example.com/portal/static/portal.css"]
    assert redirect.status_code == 307
    assert redirect.headers["location"] == "https://billing.example.com/portal/"


async def test_an_untrusted_peer_cannot_change_the_scheme_or_host(portal_settings: Settings) -> None:
    async with client(portal_settings, "10.0.0.0/8", peer="192.0.2.10") as http:
        page = await http.get("/portal/", headers=FORWARDED)
        redirect = await http.get("/portal", headers=FORWARDED)
    assert STYLESHEET.findall(page.text) == ["http://multibill-api/portal/static/portal.css"]
    assert redirect.headers["location"] == "http://multibill-api/portal/"


async def test_star_trusts_every_peer_and_the_nearest_proxys_host_wins(portal_settings: Settings) -> None:
    headers = {**FORWARDED, "X-Forwarded-Host": "evil.example, billing.example.com"}
    async with client(portal_settings, "*", peer="203.0.113.5") as http:
        redirect = await http.get("/portal", headers=headers)
    assert redirect.headers["location"] == "https://billing.example.com/portal/"


def test_a_malformed_trust_list_names_the_setting() -> None:
    with pytest.raises(RuntimeError, match="MULTIBILL_FORWARDED_ALLOW_IPS"):
        ForwardedHeaders(create_app(Settings()), trusted="10.0.0.0/8, ingress")
