"""The portal's billing pages: invoices (list, detail, PDF link), paying and topping up by card (Stripe.js
loaded from the operator's configuration), a subscription's plan change quoted before it is confirmed;
forms carry the session's CSRF token, another subscriber's invoice is a 404 page."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from runtime.settings import Settings
from tests.support.billing_factory import MIXED_LINES, Line, make_account, make_invoice
from tests.support.eventually import eventually_async
from tests.support.factories import Tenant, make_operator
from tests.support.subscribers import SignedIn, sign_in
from tests.support.subscription_support import Shop, Stack, make_shop, onboard

JS = "http://127.0.0.1:9/js.stripe.com/v3/"


@pytest.fixture
async def portal(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(
        update={
            "temporal_address": "127.0.0.1:1",
            "stripe_publishable_key": "pk_test_portal",
            "stripe_js_url": JS,
        }
    )
    app = create_app(configured)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client


def csrf_fields(html: str) -> list[str]:
    return re.findall(r'name="csrf_token" value="([^"]+)"', html)


async def test_invoice_pages_and_another_subscribers_invoice(
    portal: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    invoice = make_invoice(database_url, account, MIXED_LINES)
    paid = make_invoice(database_url, account, [Line("Fibra", 1000)], paid_minor=1210, status="paid")
    theirs = make_invoice(
        database_url, make_account(database_url, operator.organisation_id), [Line("Otro", 500)]
    )
    me = sign_in(database_url, account)

    listed = await portal.get("/portal/invoices", cookies=me.cookies)
    assert listed.status_code == 200, listed.text
    assert f'href="/portal/invoices/{invoice}"' in listed.text and "64.84" in listed.text
    assert (
        f'href="/portal/invoices/{paid}"' in listed.text and f"/portal/invoices/{theirs}" not in listed.text
    )

    page = await portal.get(
        f"/portal/invoices/{invoice}", cookies=me.cookies, headers={"Accept-Language": "es"}
    )
    assert page.status_code == 200
    for text in ("Factura", "54.99", "9.85", "64.84", "Fibra 600 Mb", f"/v1/me/invoices/{invoice}.pdf"):
        assert text in page.text, text
    assert f"/portal/invoices/{invoice}/pay" in page.text
    paid_page = await portal.get(f"/portal/invoices/{paid}", cookies=me.cookies)
    assert "This invoice is paid" in paid_page.text and f"/portal/invoices/{paid}/pay" not in paid_page.text

    for url in (f"/portal/invoices/{theirs}", f"/portal/invoices/{theirs}/pay", "/portal/invoices/inv_nope"):
        hidden = await portal.get(url, cookies=me.cookies)
        assert hidden.status_code == 404 and "not yours" in hidden.text, url
        assert "Otro" not in hidden.text
    signed_out = await portal.get(f"/portal/invoices/{invoice}")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/portal/login?next=")


async def test_pay_and_top_up_pages_load_stripe_js_with_the_sessions_csrf_token(
    portal: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    invoice = make_invoice(database_url, account, [Line("Fibra", 1000)])
    me = sign_in(database_url, account)
    pay = await portal.get(f"/portal/invoices/{invoice}/pay", cookies=me.cookies)
    assert pay.status_code == 200, pay.text
    for text in (
        f'<script src="{JS}"></script>',
        'data-publishable-key="pk_test_portal"',
        f'data-csrf="{me.csrf_token}"',
        f'data-pay-url="/v1/me/invoices/{invoice}/payments"',
        "Pay 12.10 EUR",
        "/portal/static/billing.js",
        '<label for="card">',
    ):
        assert text in pay.text, text

    await portal.patch(
        f"/v1/organisations/{operator.organisation_id}",
        json={"top_up_max_minor": {"EUR": 7550}},
        headers=operator.auth,
    )
    wallet = await portal.get("/portal/wallet/top-up", cookies=me.cookies, headers={"Accept-Language": "es"})
    assert wallet.status_code == 200
    for text in (
        "Recarga tu monedero",
        "75.50 EUR",
        'data-top-up-url="/v1/me/wallets/EUR/top-ups"',
        f'data-csrf="{me.csrf_token}"',
    ):
        assert text in wallet.text, text
    script = await portal.get("/portal/static/billing.js")
    assert script.status_code == 200 and "confirmCardSetup" in script.text


@pytest.fixture
async def shop(stack: Stack, database_url: str) -> Shop:
    return await make_shop(stack.api, make_operator(database_url))


async def _page(stack: Stack, me: SignedIn, url: str) -> str:
    page = await stack.api.get(url, cookies=me.cookies)
    assert page.status_code == 200, page.text
    return page.text


@pytest.mark.calendar
@pytest.mark.today("2026-03-11T10:00:00+00:00")
async def test_change_plan_is_quoted_then_confirmed(stack: Stack, shop: Shop, database_url: str) -> None:
    sub = await onboard(stack.api, shop, start_date="2026-03-01", bill_day=1)
    me = sign_in(database_url, shop.account_id)
    url = f"/portal/subscriptions/{sub['id']}"
    html = await _page(stack, me, url)
    assert (
        "31.00 EUR" in html
        and f'<option value="{shop.dear}">' in html
        and f'<option value="{shop.addon}">' in html
    )
    assert csrf_fields(html) and set(csrf_fields(html)) == {me.csrf_token}

    form: dict[str, Any] = {"csrf_token": me.csrf_token, "type": "change_plan", "plan": shop.dear}
    quoted = await stack.api.post(f"{url}/quote", data=form, cookies=me.cookies)
    assert quoted.status_code == 200, quoted.text
    for text in (
        "This change happens today, 2026-03-11.",
        "-21.00 EUR",
        "42.00 EUR",
        "21.00 EUR",
        "62.00 EUR",
    ):
        assert text in quoted.text, text
    assert set(csrf_fields(quoted.text)) == {me.csrf_token}  # the quote's form and the menu's log-out form
    key = re.findall(r'name="key" value="([^"]+)"', quoted.text)[0]

    forged = await stack.api.post(
        f"{url}/changes", data={**form, "csrf_token": "nope", "key": key}, cookies=me.cookies
    )
    assert forged.status_code == 403
    confirmed = await stack.api.post(f"{url}/changes", data={**form, "key": key}, cookies=me.cookies)
    assert confirmed.status_code == 303 and confirmed.headers["location"] == f"{url}?changed=1"

    async def plans() -> list[tuple[str, str]]:
        view = (await stack.api.get(f"/v1/me/subscriptions/{sub['id']}", cookies=me.cookies)).json()
        return [(s["plan"], s["status"]) for s in view["services"]]

    await eventually_async(plans, until=lambda p: (shop.dear, "active") in p, timeout=30)
    after = await _page(stack, me, f"{url}?changed=1")
    assert "Your change is on its way" in after and "62.00 EUR" in after

    stranger = sign_in(database_url, make_account(database_url, shop.tenant.organisation_id))
    hidden = await stack.api.get(url, cookies=stranger.cookies)
    assert hidden.status_code == 404
    refused = await stack.api.post(
        f"{url}/quote", data={**form, "csrf_token": stranger.csrf_token}, cookies=stranger.cookies
    )
    assert refused.status_code == 404
    bad = await stack.api.post(f"{url}/quote", data={**form, "plan": "no-such-plan"}, cookies=me.cookies)
    assert bad.status_code == 404 and "No plan no-such-plan exists" in bad.text
    assert uuid.UUID(key.replace("-", ""))
