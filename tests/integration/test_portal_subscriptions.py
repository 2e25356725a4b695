"""The portal's subscriptions list and subscribe page on the Temporal dev server: the subscriber's own
subscriptions in English and Spanish (never another subscriber's), the plans on sale with a Subscribe form
that starts the Onboarding process, a form without the session's CSRF token refused, and a refused
subscription (already subscribed, a plan not on sale) shown with its reason."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.support.eventually import eventually_async
from tests.support.factories import make_operator, person
from tests.support.subscribers import SignedIn, sign_in
from tests.support.subscription_support import Shop, Stack, make_shop, onboard


@pytest.fixture
async def shop(stack: Stack, database_url: str) -> Shop:
    return await make_shop(stack.api, make_operator(database_url))


async def new_account(stack: Stack, shop: Shop) -> str:
    made = await stack.api.post("/v1/accounts", json=person(), headers=shop.tenant.post_headers())
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def page_of(api: httpx.AsyncClient, me: SignedIn, url: str = "/portal/subscriptions", **kw: Any) -> str:
    answer = await api.get(url, cookies=me.cookies, **kw)
    assert answer.status_code == 200, answer.text
    return answer.text


def alert(html: str) -> str:
    found = re.search(r'<p role="alert"[^>]*>([^<]*)</p>', html)
    return found.group(1) if found else ""


def form_fields(html: str, plan: str) -> dict[str, str]:
    """The Subscribe form of ``plan`` as the browser would send it."""
    block = re.search(
        rf'<li class="card" data-plan="{plan}">(.*?)</li>\s*(?:<li class="card"|</ul>)', html, re.S
    )
    assert block, f"no Subscribe form for {plan}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', block.group(1)))


async def test_the_list_shows_my_subscriptions_in_english_and_spanish_and_never_anothers(
    stack: Stack, shop: Shop, database_url: str
) -> None:
    sub = await onboard(stack.api, shop)
    me = sign_in(database_url, shop.account_id)
    html = await page_of(stack.api, me)
    row = re.search(rf'<tr data-subscription="{sub["id"]}" data-status="active">(.*?)</tr>', html, re.S)
    assert row, html
    for text in (f'href="/portal/subscriptions/{sub["id"]}"', f"Plan {shop.cheap}", "Active", "31.00"):
        assert text in row.group(1), text
    assert "Your subscriptions" in html and "open your subscription" in html
    assert 'action="/portal/subscriptions"' not in html  # a live subscription: no Subscribe form

    spanish = await page_of(stack.api, me, headers={"Accept-Language": "es"})
    assert "Tus suscripciones" in spanish and "Activa" in spanish and "31,00" in spanish
    assert f"Plan {shop.cheap}" in spanish

    stranger = sign_in(database_url, await new_account(stack, shop))
    theirs = await page_of(stack.api, stranger)
    assert sub["id"] not in theirs and "You have no subscription yet." in theirs
    offered = re.findall(r'data-plan="([^"]+)"', theirs)
    assert sorted(offered) == sorted([shop.cheap, shop.dear])  # base plans only: the add-on is not sold alone
    assert "62.00" in theirs and "per month" in theirs
    assert set(re.findall(r'name="csrf_token" value="([^"]+)"', theirs)) == {stranger.csrf_token}
    hidden = await stack.api.get(f"/portal/subscriptions/{sub['id']}", cookies=stranger.cookies)
    assert hidden.status_code == 404
    signed_out = await stack.api.get("/portal/subscriptions")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/portal/login")


async def test_subscribing_from_the_page_starts_onboarding_once(
    stack: Stack, shop: Shop, database_url: str
) -> None:
    me = sign_in(database_url, await new_account(stack, shop))
    html = await page_of(stack.api, me, headers={"Accept-Language": "es"})
    assert "Suscríbete a una tarifa" in html and "Suscribirme" in html
    form = form_fields(html, shop.cheap)
    assert form["plan"] == shop.cheap and form["csrf_token"] == me.csrf_token and form["idempotency_key"]

    forged = await stack.api.post(
        "/portal/subscriptions", data={**form, "csrf_token": "nope"}, cookies=me.cookies
    )
    assert forged.status_code == 403
    assert (await stack.api.get("/v1/me/subscriptions", cookies=me.cookies)).json() == []

    started = await stack.api.post("/portal/subscriptions", data=form, cookies=me.cookies)
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    sub_id = location.split("started=")[1]
    assert location == f"/portal/subscriptions?started={sub_id}"
    setting_up = await page_of(stack.api, me, location)
    assert 'id="subscribe-started"' in setting_up and "being set up" in setting_up
    assert 'action="/portal/subscriptions"' not in setting_up  # no second Subscribe while it is set up
    again = await stack.api.post("/portal/subscriptions", data=form, cookies=me.cookies)
    assert again.status_code == 303 and again.headers["location"] == location  # a double submit: one

    async def status() -> str:
        return str(
            (await stack.api.get(f"/v1/me/subscriptions/{sub_id}", cookies=me.cookies)).json()["status"]
        )

    await eventually_async(status, until=lambda s: s == "active", timeout=30, what="the subscription active")
    listed = (await stack.api.get("/v1/me/subscriptions", cookies=me.cookies)).json()
    assert [s["id"] for s in listed] == [sub_id]
    after = await page_of(stack.api, me, location)
    assert 'role="status"' in after and "being set up" in after
    assert f'<tr data-subscription="{sub_id}" data-status="active">' in after and "31.00" in after

    fresh = {**form, "idempotency_key": f"{form['idempotency_key']}-again"}
    refused = await stack.api.post(
        "/portal/subscriptions", data=fresh, cookies=me.cookies, headers={"Accept-Language": "es"}
    )
    assert refused.status_code == 409 and alert(refused.text).startswith("Ya tienes una suscripción")
    other = sign_in(database_url, await new_account(stack, shop))
    unknown = await stack.api.post(
        "/portal/subscriptions",
        data={**fresh, "csrf_token": other.csrf_token, "plan": "no-such-plan"},
        cookies=other.cookies,
    )
    assert (
        unknown.status_code == 404
        and alert(unknown.text) == "That plan is not on sale. Please choose another one."
    )
    assert (await stack.api.get("/v1/me/subscriptions", cookies=other.cookies)).json() == []
