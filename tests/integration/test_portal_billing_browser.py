"""Paying an invoice on the portal in Chromium: Stripe.js (localstripe's stand-in, loaded from the URL the
settings name) takes the card in its element, the page saves it with a SetupIntent and our API charges it
once; a declined card shows a clear message and takes nothing, another card then pays."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Page, async_playwright
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from models.base import unit_of_work
from models.organisations import Organisation
from runtime.payments import build_gateways
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.factories import Tenant
from tests.support.live_api import serve
from tests.support.localstripe import DECLINED_ON_CHARGE, GOOD_CARD, LocalStripe
from tests.support.payment_support import invoice_row, rows, stripe_settings
from tests.support.subscribers import sign_in

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def portal_url(settings: Settings, localstripe: LocalStripe) -> Iterator[str]:
    configured = stripe_settings(
        settings,
        localstripe.url,
        stripe_publishable_key="pk_test_portal",
        stripe_js_url=f"{localstripe.url}/js.stripe.com/v3/",
    )
    app = create_app(configured)
    app.state.payment_gateways = build_gateways(configured)
    with serve(app) as url:
        yield url


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            yield await browser.new_page()
        finally:
            await browser.close()


async def _type_card(page: Page, number: str) -> None:
    for field, value in (("number", number), ("exp_month", "12"), ("exp_year", "31"), ("cvc", "123")):
        await page.fill(f"#card input[placeholder={field}]", value)
    await page.fill("#card input[placeholder=postal_code]", "28013")


async def test_pay_an_invoice_with_a_declined_card_then_a_good_one(
    page: Page, portal_url: str, operator: Tenant, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    invoice = make_invoice(database_url, account, [Line("Fibra 600 Mb", 1000, kind="broadband")])
    me = sign_in(database_url, account)
    await page.context.add_cookies(
        [{"name": name, "value": value, "url": portal_url} for name, value in me.cookies.items()]
    )
    await page.goto(f"{portal_url}/portal/invoices/{invoice}/pay")
    await page.wait_for_selector("#card input[placeholder=number]")

    await _type_card(page, DECLINED_ON_CHARGE)
    await page.click("button[type=submit]")
    await page.wait_for_function("document.getElementById('status').textContent.includes('declined')")
    assert "No money was taken" in (await page.text_content("#status") or "")
    assert invoice_row(database_url, invoice)["paid_minor"] == 0

    await _type_card(page, GOOD_CARD)
    await page.click("button[type=submit]")
    await page.wait_for_function("document.getElementById('status').textContent.includes('Payment received')")
    assert invoice_row(database_url, invoice) == {"status": "paid", "paid_minor": 1210, "total_minor": 1210}
    assert await page.is_disabled("button[type=submit]")


@pytest.fixture
async def top_up_portal(
    settings: Settings, localstripe: LocalStripe, dev_env: WorkflowEnvironment
) -> AsyncIterator[str]:
    """The portal served on a real port (its own Temporal client) and a worker for its WalletTopUp."""
    configured = stripe_settings(
        settings,
        localstripe.url,
        stripe_publishable_key="pk_test_portal",
        stripe_js_url=f"{localstripe.url}/js.stripe.com/v3/",
        temporal_address=dev_env.client.service_client.config.target_host,
        task_queue=f"portal-{uuid.uuid4().hex[:8]}",
    )
    app = create_app(configured)
    app.state.payment_gateways = build_gateways(configured)
    async with build_worker(dev_env.client, configured):
        with serve(app) as url:
            yield url


async def test_top_up_the_wallet_within_the_limit(
    page: Page, top_up_portal: str, operator: Tenant, database_url: str
) -> None:
    with unit_of_work(database_url) as session:
        org = session.get(Organisation, operator.organisation_id)
        assert org is not None
        org.top_up_max_minor = {"EUR": 2000}
    account = make_account(database_url, operator.organisation_id)
    me = sign_in(database_url, account)
    await page.context.add_cookies(
        [{"name": name, "value": value, "url": top_up_portal} for name, value in me.cookies.items()]
    )
    await page.goto(f"{top_up_portal}/portal/wallet/top-up")
    assert "At most 20.00 EUR at a time." in await page.content()
    await page.wait_for_selector("#card input[placeholder=number]")
    await _type_card(page, GOOD_CARD)

    await page.fill("#amount", "20,01")
    await page.click("button[type=submit]")
    await page.wait_for_function("document.getElementById('status').textContent.includes('at most')")
    assert "20.00 EUR" in (await page.text_content("#status") or "")

    await page.fill("#amount", "12,5")
    await page.click("button[type=submit]")
    await page.wait_for_function(
        "document.getElementById('status').textContent.includes('New balance')", timeout=60_000
    )
    assert "12.50 EUR" in (await page.text_content("#status") or "")
    balances = rows(database_url, "select balance_minor from wallets where account_id = :a", a=account)
    assert [r["balance_minor"] for r in balances] == [1250]
