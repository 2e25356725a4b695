"""The rewards and care pages in Chromium, checked by axe: no accessibility violations (labels, names,
landmarks, contrast), in English and Spanish, with a signed-in subscriber's data on them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, sync_playwright

from api.app import create_app
from models.base import unit_of_work
from models.care import TicketCategory
from runtime.settings import Settings
from tests.support.care_support import make_care, raise_ticket
from tests.support.live_api import serve
from tests.support.subscribers import sign_in

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


def test_the_care_pages_have_no_accessibility_violations(
    browser: Browser, settings: Settings, database_url: str
) -> None:
    care = make_care(database_url)
    with serve(create_app(settings.model_copy(update={"temporal_address": "127.0.0.1:1"}))) as base:
        with unit_of_work(database_url) as session:
            row = session.get(TicketCategory, care.category)
            assert row is not None
            row.open_to_subscribers = True
        ticket = raise_ticket(database_url, care)
        signed = sign_in(database_url, care.account_id)
        context = browser.new_context()
        context.add_cookies(
            [{"name": name, "value": value, "url": base} for name, value in signed.cookies.items()]
        )
        page = context.new_page()
        found: dict[str, list[str]] = {}
        paths = [
            "wallet",
            "vouchers",
            "offers",
            "points",
            "tickets",
            "tickets/new",
            f"tickets/{ticket.id}",
            "profile",
        ]
        for lang in ("en", "es"):
            for path in paths:
                response = page.goto(f"{base}/portal/{path}?lang={lang}")
                assert response is not None and response.status == 200, (path, response and response.status)
                assert page.locator("html").get_attribute("lang") == lang
                results = Axe().run(page)
                violations = [v["id"] for v in results.response["violations"]]
                if violations:
                    found[f"{lang} {path}"] = violations
        context.close()
    assert found == {}, found
