"""/v1/me subscriptions on the Temporal dev server: read them, see the catalogue, quote a plan change or an
add-on (exactly what the PlanChange process then charges), make it, subscribe, follow the process."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.support.eventually import eventually_async
from tests.support.factories import make_operator, person
from tests.support.subscribers import SignedIn, sign_in
from tests.support.subscription_support import Shop, Stack, make_shop, onboard

pytestmark = pytest.mark.calendar
TODAY = "2026-03-11T10:00:00+00:00"  # the 11th of a 31-day period: 21 days left


@pytest.fixture
async def shop(stack: Stack, database_url: str) -> Shop:
    return await make_shop(stack.api, make_operator(database_url))


def writing(signed: SignedIn) -> dict[str, str]:
    return {**signed.write_headers, "Idempotency-Key": uuid.uuid4().hex}


async def wait_mine(api: httpx.AsyncClient, signed: SignedIn, process_id: str) -> dict[str, Any]:
    async def view() -> dict[str, Any]:
        return dict((await api.get(f"/v1/me/processes/{process_id}", cookies=signed.cookies)).json())

    return await eventually_async(view, until=lambda v: v.get("status") == "completed", timeout=30)


async def charges_of(stack: Stack, shop: Shop, sub_id: str) -> list[tuple[str, int]]:
    view = (await stack.api.get(f"/v1/subscriptions/{sub_id}", headers=shop.tenant.auth)).json()
    return [(c["kind"], c["amount_minor"]) for c in view["charges"]]


@pytest.mark.today(TODAY)
async def test_quote_then_upgrade_now_charges_what_was_quoted(
    stack: Stack, shop: Shop, database_url: str
) -> None:
    sub = await onboard(stack.api, shop, start_date="2026-03-01", bill_day=1)
    signed = sign_in(database_url, shop.account_id)
    listed = await stack.api.get("/v1/me/subscriptions", cookies=signed.cookies)
    assert [s["id"] for s in listed.json()] == [sub["id"]]
    detail = (await stack.api.get(f"/v1/me/subscriptions/{sub['id']}", cookies=signed.cookies)).json()
    assert [(s["plan"], s["price"]["amount_minor"]) for s in detail["services"]] == [(shop.cheap, 3100)]
    assert detail["devices"] == []  # the shop's plans rent no device

    catalogue = (await stack.api.get("/v1/me/catalogue", cookies=signed.cookies)).json()
    prices = {p["code"]: (p["role"], p["price"]["amount_minor"]) for p in catalogue["plans"]}
    assert prices == {shop.cheap: ("base", 3100), shop.dear: ("base", 6200), shop.addon: ("addon", 900)}

    change = {"type": "change_plan", "plan": shop.dear}
    url = f"/v1/me/subscriptions/{sub['id']}"
    quoted = await stack.api.post(
        f"{url}/change-quotes", json=change, cookies=signed.cookies, headers=writing(signed)
    )
    assert quoted.status_code == 200, quoted.text
    quote = quoted.json()
    # 21 of 31 days: credit 21/31 x 31.00 = 21.00, charge 21/31 x 62.00 = 42.00
    assert (quote["timing"], quote["effective_on"], quote["new_price"]["amount_minor"]) == (
        "immediate",
        "2026-03-11",
        6200,
    )
    assert [(li["kind"], li["amount"]["amount_minor"]) for li in quote["lines"]] == [
        ("proration_credit", -2100),
        ("proration_charge", 4200),
    ]
    assert quote["total_net"]["amount_minor"] == 2100
    assert await charges_of(stack, shop, sub["id"]) == [("one_off", 2500)]  # the quote saved nothing

    started = await stack.api.post(
        f"{url}/changes", json=change, cookies=signed.cookies, headers=writing(signed)
    )
    assert started.status_code == 202, started.text
    done = await wait_mine(stack.api, signed, started.json()["process_id"])
    assert done["process"] == "PlanChange" and done["account_id"] == shop.account_id
    after = (await stack.api.get(url, cookies=signed.cookies)).json()
    assert [(s["plan"], s["status"]) for s in after["services"]] == [
        (shop.cheap, "terminated"),
        (shop.dear, "active"),
    ]
    assert (await charges_of(stack, shop, sub["id"]))[1:] == [
        ("proration_credit", -2100),
        ("proration_charge", 4200),
    ]

    addon = {"type": "add_addon", "plan": shop.addon}
    addon_quote = (
        await stack.api.post(
            f"{url}/change-quotes", json=addon, cookies=signed.cookies, headers=writing(signed)
        )
    ).json()
    # 21/31 x 9.00 = 6.0967… → 6.10
    assert [(li["kind"], li["amount"]["amount_minor"]) for li in addon_quote["lines"]] == [
        ("proration_charge", 610)
    ]
    bought = await stack.api.post(
        f"{url}/changes", json=addon, cookies=signed.cookies, headers=writing(signed)
    )
    await wait_mine(stack.api, signed, bought.json()["process_id"])
    assert (await charges_of(stack, shop, sub["id"]))[3:] == [("proration_charge", 610)]
    addon_service = next(
        s
        for s in (await stack.api.get(url, cookies=signed.cookies)).json()["services"]
        if s["role"] == "addon"
    )
    cancel = {"type": "remove_addon", "service_id": addon_service["id"]}
    cancelled = await stack.api.post(
        f"{url}/changes", json=cancel, cookies=signed.cookies, headers=writing(signed)
    )
    await wait_mine(stack.api, signed, cancelled.json()["process_id"])
    final = (await stack.api.get(url, cookies=signed.cookies)).json()
    assert [s["status"] for s in final["services"] if s["role"] == "addon"] == ["terminated"]


@pytest.mark.today(TODAY)
async def test_another_subscriber_a_staff_key_and_a_missing_csrf_token_are_refused(
    stack: Stack, shop: Shop, database_url: str
) -> None:
    sub = await onboard(stack.api, shop, start_date="2026-03-01", bill_day=1)
    owner = sign_in(database_url, shop.account_id)
    started = await stack.api.post(
        f"/v1/me/subscriptions/{sub['id']}/changes",
        json={"type": "add_addon", "plan": shop.addon},
        cookies=owner.cookies,
        headers=writing(owner),
    )
    await wait_mine(stack.api, owner, started.json()["process_id"])
    stranger_account = (
        await stack.api.post("/v1/accounts", json=person(), headers=shop.tenant.post_headers())
    ).json()
    stranger = sign_in(database_url, stranger_account["id"])
    url = f"/v1/me/subscriptions/{sub['id']}"
    change = {"type": "change_plan", "plan": shop.dear}
    answers = [
        await stack.api.get(url, cookies=stranger.cookies),
        await stack.api.post(
            f"{url}/change-quotes", json=change, cookies=stranger.cookies, headers=writing(stranger)
        ),
        await stack.api.post(
            f"{url}/changes", json=change, cookies=stranger.cookies, headers=writing(stranger)
        ),
    ]
    assert [(a.status_code, a.json()["code"]) for a in answers] == [(404, "subscription_not_found")] * 3
    process = await stack.api.get(
        f"/v1/me/processes/{started.json()['process_id']}", cookies=stranger.cookies
    )
    assert process.status_code == 404 and process.json()["code"] == "process_not_found"
    assert (await stack.api.get("/v1/me/subscriptions", cookies=stranger.cookies)).json() == []

    staff = await stack.api.post(f"{url}/changes", json=change, headers=shop.tenant.post_headers())
    assert staff.status_code == 403 and staff.json()["code"] == "subscriber_only"
    no_csrf = await stack.api.post(
        f"{url}/changes", json=change, cookies=owner.cookies, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "csrf_token_invalid"
    backdated = await stack.api.post(
        f"{url}/changes",
        json={**change, "effective_date": "2026-03-02"},
        cookies=owner.cookies,
        headers=writing(owner),
    )
    assert backdated.status_code == 422  # the subscriber's change is dated today, never another day
    view = (await stack.api.get(url, cookies=owner.cookies)).json()
    assert [s["plan"] for s in view["services"] if s["status"] == "active"] == [shop.cheap, shop.addon]


async def test_subscribe_once_through_onboarding(stack: Stack, shop: Shop, database_url: str) -> None:
    signed = sign_in(database_url, shop.account_id)
    body = {"plan": shop.cheap, "addons": [shop.addon]}
    started = await stack.api.post(
        "/v1/me/subscriptions", json=body, cookies=signed.cookies, headers=writing(signed)
    )
    assert started.status_code == 202, started.text
    done = await wait_mine(stack.api, signed, started.json()["process_id"])
    assert done["process"] == "Onboarding"
    sub = (
        await stack.api.get(
            f"/v1/me/subscriptions/{started.json()['subscription_id']}", cookies=signed.cookies
        )
    ).json()
    assert sub["status"] == "active" and sub["account_id"] == shop.account_id
    assert [(s["plan"], s["role"]) for s in sub["services"]] == [(shop.cheap, "base"), (shop.addon, "addon")]
    again = await stack.api.post(
        "/v1/me/subscriptions", json=body, cookies=signed.cookies, headers=writing(signed)
    )
    assert again.status_code == 409 and again.json()["code"] == "already_subscribed"
    stranger = await stack.api.post(
        "/v1/me/subscriptions",
        json={**body, "account_id": "acc_someone"},
        cookies=signed.cookies,
        headers=writing(signed),
    )
    assert stranger.status_code == 404 and stranger.json()["code"] == "account_not_found"
