"""The portal's frame in Chromium against a real stack: the landing page, the operator's branding in
the computed styles, the manifest and the service worker, the language switch, and a signed-in
subscriber's dashboard — in English and Spanish, on a desktop and a phone-size screen. Every page is
screenshotted to tests/artifacts/, checked by axe-core, and fails the test on a console error or a
failed request."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from domain.subscribers import SESSION_COOKIE
from tests.support.browser import DESKTOP, PageGuard, new_context, phone_context, visit
from tests.support.factories import person
from tests.support.portal_stack import PortalStack
from tests.support.subscribers import sign_in

VIEWS = [pytest.param("desktop", id="desktop"), pytest.param("phone", id="phone")]
LANGS = ["en", "es"]
TITLES = {"en": "Welcome to", "es": "Bienvenido a"}
DASHBOARD = {"en": "Your dashboard", "es": "Tu panel"}
NO_BILL = {"en": "No upcoming bill.", "es": "No hay ninguna factura próxima."}


@pytest.fixture
def context_for(browser: Browser) -> Iterator[Any]:
    """Open a context per (view, language): its pages ask for that language like a browser set to it."""
    opened: list[Any] = []

    def make(view: str, lang: str) -> BrowserContext:
        options = {"locale": "es-ES" if lang == "es" else "en-GB"}
        manager = (
            phone_context(browser, **options) if view == "phone" else new_context(browser, DESKTOP, **options)
        )
        opened.append(manager)
        return manager.__enter__()

    yield make
    for manager in reversed(opened):
        manager.__exit__(None, None, None)


def guarded(context: BrowserContext) -> tuple[Page, PageGuard]:
    page = context.new_page()
    guard = PageGuard()
    guard.attach(page)
    return page, guard


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("view", VIEWS)
def test_landing_page(portal_stack: PortalStack, context_for: Any, view: str, lang: str) -> None:
    page, guard = guarded(context_for(view, lang))
    visit(page, guard, f"{portal_stack.base_url}/portal/", f"landing-{view}-{lang}")
    assert page.locator("html").get_attribute("lang") == lang
    assert TITLES[lang] in page.locator("h1").inner_text()
    assert page.locator("#sign-up").get_attribute("href") == "/portal/signup"
    assert page.locator("#log-in").get_attribute("href") == "/portal/login"
    # the skip link is the first thing a keyboard reaches, and it leads to the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator("main#content").count() == 1


def test_branding_shows_in_the_computed_style(portal_stack: PortalStack, page: Page) -> None:
    colour = f"#{100 + uuid.uuid4().int % 20:02x}1446"  # a dark, readable primary; new each run
    with portal_stack.api() as api:
        current = api.get("/v1/branding").json()
        saved = api.put(
            "/v1/branding",
            json={
                "name": "Fibra Sol",
                "colours": {**current["colours"], "primary": colour, "on_primary": "#ffffff"},
                "font_family": "serif",
                "footer_links": [{"label": "Terms", "url": "/portal/"}],
                "support_email": "help@fibrasol.example",
            },
        )
        assert saved.status_code == 200, saved.text
    guard = PageGuard()
    guard.attach(page)
    visit(page, guard, f"{portal_stack.base_url}/portal/?lang=en", "branding-desktop-en")
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))  # 0x14 = 20, 0x46 = 70
    header = page.locator("header.site-header")
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == f"rgb({r}, {g}, {b})"
    assert header.evaluate("e => getComputedStyle(e).color") == "rgb(255, 255, 255)"
    assert "Georgia" in page.locator("body").evaluate("e => getComputedStyle(e).fontFamily")
    assert page.locator("footer").get_by_text("help@fibrasol.example").count() == 1
    assert "Fibra Sol" in page.title()


def test_manifest_and_service_worker(portal_stack: PortalStack, page: Page) -> None:
    guard = PageGuard()
    guard.attach(page)
    visit(page, guard, f"{portal_stack.base_url}/portal/", "pwa-desktop")
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == f"{portal_stack.base_url}/portal/"
    manifest_href = page.locator("link[rel=manifest]").get_attribute("href")
    manifest = page.evaluate(f"fetch({manifest_href!r}).then(r => r.json())")
    assert manifest["start_url"] == "/portal/" and manifest["display"] == "standalone"
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}
    cached = page.evaluate(
        "caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.keys()))))"
        ".then(all => all.flat().map(r => new URL(r.url).pathname))"
    )
    assert "/portal/static/portal.css" in cached and "/portal/offline" in cached
    assert "/portal/" not in cached  # pages (signed-in ones above all) are never cached
    guard.check()


@pytest.mark.parametrize("view", VIEWS)
def test_language_switch(portal_stack: PortalStack, context_for: Any, view: str) -> None:
    page, guard = guarded(context_for(view, "en"))
    visit(page, guard, f"{portal_stack.base_url}/portal/", f"language-{view}-before")
    assert TITLES["en"] in page.locator("h1").inner_text()
    page.get_by_role("link", name="Español").click()
    page.wait_for_load_state("networkidle")
    assert TITLES["es"] in page.locator("h1").inner_text()
    assert page.locator("html").get_attribute("lang") == "es"
    visit(page, guard, f"{portal_stack.base_url}/portal/", f"language-{view}-after")  # remembered
    assert TITLES["es"] in page.locator("h1").inner_text()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("view", VIEWS)
def test_dashboard_of_a_signed_in_subscriber(
    portal_stack: PortalStack, context_for: Any, view: str, lang: str
) -> None:
    with portal_stack.api() as api:
        created = api.post("/v1/accounts", json=person(), headers={"Idempotency-Key": uuid.uuid4().hex})
        assert created.status_code == 201, created.text
    signed = sign_in(portal_stack.database_url, created.json()["id"])
    context = context_for(view, lang)
    context.add_cookies(
        [{"name": SESSION_COOKIE, "value": signed.token, "url": portal_stack.base_url, "httpOnly": True}]
    )
    page, guard = guarded(context)
    visit(page, guard, f"{portal_stack.base_url}/portal/?lang={lang}", f"dashboard-{view}-{lang}")
    assert page.locator("h1").inner_text() == DASHBOARD[lang]
    assert page.locator("#next-bill").get_by_text(NO_BILL[lang]).count() == 1
    menu = page.locator("details.menu")
    menu.locator("summary").click()
    links = menu.locator("nav a")
    hrefs = {links.nth(i).get_attribute("href") for i in range(links.count())}
    assert {"/portal/subscriptions", "/portal/invoices", "/portal/wallet", "/portal/profile"} <= hrefs
    assert (
        menu.locator("form[action='/portal/logout'] input[name=csrf_token]").get_attribute("value")
        == signed.csrf_token
    )
