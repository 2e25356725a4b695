"""The portal's frame with an operator's branding: whose portal a Host is, the landing page, the
signed-in dashboard, the manifest and the service worker (over ASGI; tests/e2e/test_portal*.py run the
same pages in Chromium)."""

from __future__ import annotations

import re
import uuid

import httpx

from activities.wallets.balances import wallet_for
from models.accounts import Account
from models.base import unit_of_work
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.factories import Tenant
from tests.support.subscribers import sign_in
from tests.support.wallet_support import make_prepaid_subscription


def unique_host() -> str:
    return f"portal-{uuid.uuid4().hex[:10]}.example"


async def branded(api: httpx.AsyncClient, operator: Tenant, **extra: object) -> str:
    host = unique_host()
    body = {
        "name": "Fibra Sol",
        "colours": {"primary": "#7a1f5c", "on_primary": "#ffffff"},
        "hosts": [host],
        "footer_links": [{"label": "Terms", "url": "https://fibrasol.example/terms"}],
        "support_email": "help@fibrasol.example",
        **extra,
    }
    saved = await api.put("/v1/branding", json=body, headers=operator.auth)
    assert saved.status_code == 200, saved.text
    return host


async def test_the_landing_page_wears_the_branding_of_the_host(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    host = await branded(api, operator, default_language="es")
    page = await api.get("/portal/", headers={"Host": f"{host}:8080"})
    assert page.status_code == 200, page.text
    assert "--primary:#7a1f5c;" in page.text and "--on-primary:#ffffff;" in page.text
    assert "Bienvenido a Fibra Sol" in page.text  # the operator's default language
    assert 'href="/portal/signup"' in page.text and 'href="/portal/login"' in page.text
    assert "help@fibrasol.example" in page.text and "https://fibrasol.example/terms" in page.text
    assert 'href="#content"' in page.text and '<main id="content"' in page.text
    english = await api.get("/portal/?lang=en", headers={"Host": host})
    assert "Welcome to Fibra Sol" in english.text
    assert english.cookies.get("mb_lang") == "en"
    assert 'action="/portal/logout"' not in english.text  # signed out: no menu


async def test_an_unknown_host_with_several_operators_is_a_404_page(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    from tests.support.factories import make_operator

    make_operator(database_url)  # at least two operators: no "only operator" fallback
    page = await api.get("/portal/", headers={"Host": unique_host()})
    assert page.status_code == 404
    assert 'data-code="operator_unknown"' in page.text
    config = await api.get("/v1/app-config", headers={"Host": unique_host()})
    assert config.status_code == 404 and config.json()["code"] == "operator_unknown"


async def test_the_setting_names_the_operator_when_no_host_matches(
    settings: object, operator: Tenant, database_url: str
) -> None:
    from api.app import create_app
    from runtime.settings import Settings

    assert isinstance(settings, Settings)
    app = create_app(
        settings.model_copy(
            update={"temporal_address": "127.0.0.1:1", "portal_operator": operator.organisation_id}
        )
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as client:
        await client.put("/v1/branding", json={"name": "Setting Telecom"}, headers=operator.auth)
        page = await client.get("/portal/", headers={"Host": unique_host(), "Accept-Language": "en"})
        assert page.status_code == 200 and "Welcome to Setting Telecom" in page.text
        config = await client.get("/v1/app-config", headers={"Host": unique_host()})
        assert config.json()["organisation_id"] == operator.organisation_id


async def test_the_dashboard_of_a_signed_in_subscriber(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    host = await branded(api, operator)
    account = make_account(database_url, operator.organisation_id)
    subscription = make_prepaid_subscription(database_url, operator.organisation_id, account)
    invoice = make_invoice(database_url, account, [Line("Fibra 600 Mb", 3000, kind="broadband")])
    with unit_of_work(database_url) as session:
        row = session.get(Account, account)
        assert row is not None
        wallet_for(session, row, "EUR")
    signed = sign_in(database_url, account)

    page = await api.get("/portal/?lang=es", cookies=signed.cookies, headers={"Host": host})
    assert page.status_code == 200, page.text
    assert f'data-subscription="{subscription}"' in page.text and "Activo" in page.text
    assert "Prepaid prepaid-" in page.text  # the plan's name from the catalogue
    assert "0,00 €" in page.text  # the wallet
    assert f'data-invoice="{invoice}"' in page.text and "36,30 €" in page.text  # 30.00 + 21% VAT
    assert "No hay ninguna factura próxima." in page.text  # prepaid: no bill
    assert f'name="csrf_token" value="{signed.csrf_token}"' in page.text
    assert 'action="/portal/logout"' in page.text
    for href in ("/portal/subscriptions", "/portal/invoices", "/portal/wallet", "/portal/tickets"):
        assert f'href="{href}"' in page.text

    other = make_account(database_url, operator.organisation_id)
    other_invoice = make_invoice(database_url, other, [Line("Otro", 1000, kind="broadband")])
    assert other_invoice not in page.text


async def test_manifest_and_service_worker(api: httpx.AsyncClient, operator: Tenant) -> None:
    host = await branded(api, operator)
    manifest = await api.get("/portal/manifest.webmanifest", headers={"Host": host})
    assert manifest.status_code == 200
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    body = manifest.json()
    assert (body["name"], body["theme_color"], body["start_url"], body["display"]) == (
        "Fibra Sol",
        "#7a1f5c",
        "/portal/",
        "standalone",
    )
    sizes = {(icon["sizes"], icon["purpose"]) for icon in body["icons"]}
    assert sizes == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for icon in body["icons"]:
        served = await api.get(icon["src"])
        assert served.status_code == 200 and served.content.startswith(b"\x89PNG")
    worker = await api.get("/portal/sw.js")
    assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/javascript")
    assert "__VERSION__" not in worker.text and re.search(r"multibill-shell-[0-9a-f]{12}", worker.text)
    assert "/portal/offline" in worker.text
    offline = await api.get("/portal/offline", headers={"Host": host})
    assert offline.status_code == 200 and "Fibra Sol" in offline.text
