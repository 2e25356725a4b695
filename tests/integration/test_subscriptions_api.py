"""Subscriptions end to end on the Temporal dev server: onboarding, changes, actions, bad input."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from activities.subscriptions.changes import ChangePlan
from domain import process_ids
from models.base import engine_for
from tests.support.device_support import device_row, receive
from tests.support.device_support import make_shop as make_device_shop
from tests.support.eventually import eventually_async
from tests.support.factories import make_operator, person
from tests.support.smtp import SmtpSink
from tests.support.subscription_support import Shop, Stack, make_shop, onboard, wait_process
from workflows.subscription_change import SubscriptionActionWorkflow

pytestmark = pytest.mark.calendar


@pytest.fixture
async def shop(stack: Stack, database_url: str) -> Shop:
    return await make_shop(stack.api, make_operator(database_url))


def count(database_url: str, sql: str, **params: str) -> int:
    with engine_for(database_url).connect() as conn:
        return int(conn.execute(sa.text(sql), params).scalar_one())


async def test_onboarding_activates_provisions_charges_and_notifies(
    stack: Stack, shop: Shop, smtp_server: SmtpSink, database_url: str
) -> None:
    body = {
        "account_id": shop.account_id,
        "items": [{"plan": shop.cheap, "addons": [shop.addon]}],
        "start_date": "2024-03-10",
    }
    headers = shop.tenant.post_headers("onboard-1")
    started = await stack.api.post("/v1/subscriptions", json=body, headers=headers)
    assert started.status_code == 202, started.text
    sub_id, process_id = started.json()["subscription_id"], started.json()["process_id"]
    again = await stack.api.post("/v1/subscriptions", json=body, headers=headers)
    assert again.json()["subscription_id"] == sub_id
    done = await wait_process(stack.api, shop.tenant, process_id)
    assert done["process"] == "Onboarding" and done["step"] == "active"
    sub = (await stack.api.get(f"/v1/subscriptions/{sub_id}", headers=shop.tenant.auth)).json()
    assert sub["status"] == "active" and sub["start_date"] == "2024-03-10" and sub["bill_day"] == 10
    assert [(s["plan"], s["role"], s["status"]) for s in sub["services"]] == [
        (shop.cheap, "base", "active"),
        (shop.addon, "addon", "active"),
    ]
    assert sub["services"][0]["price"]["amount"] == "31.00"
    assert [(c["kind"], c["amount_minor"], c["status"]) for c in sub["charges"]] == [
        ("one_off", 2500, "pending")
    ]
    assert [h["kind"] for h in sub["history"]] == ["created", "activated"]
    assert stack.broadband.actions() == [("activate", sub["services"][0]["line_id"])]
    assert stack.broadband.orders[0].characteristics == {"download_speed": 300}
    assert stack.video.actions() == [("activate", sub["services"][1]["line_id"])]
    await smtp_server.wait_for(
        (await stack.api.get(f"/v1/accounts/{shop.account_id}", headers=shop.tenant.auth)).json()["email"]
    )
    assert (
        count(database_url, "select count(*) from subscriptions where account_id=:a", a=shop.account_id) == 1
    )


async def test_failed_provisioning_is_compensated(stack: Stack, shop: Shop, database_url: str) -> None:
    stack.video.refuse.add("activate")
    body = {
        "account_id": shop.account_id,
        "items": [{"plan": shop.cheap, "addons": [shop.addon]}],
        "start_date": "2024-03-10",
    }
    started = (
        await stack.api.post("/v1/subscriptions", json=body, headers=shop.tenant.post_headers())
    ).json()
    done = await wait_process(stack.api, shop.tenant, started["process_id"])
    assert done["step"] == "failed"
    sub = (
        await stack.api.get(f"/v1/subscriptions/{started['subscription_id']}", headers=shop.tenant.auth)
    ).json()
    assert sub["status"] == "failed" and "ott-test refuses activate" in sub["failure_reason"]
    line = sub["services"][0]["line_id"]
    assert stack.broadband.actions() == [("activate", line), ("terminate", line)]
    assert {c["status"] for c in sub["charges"]} == {"void"}
    assert sub["active_process_id"] is None


async def test_upgrade_now_prorates_and_reprovisions(stack: Stack, shop: Shop) -> None:
    sub = await onboard(stack.api, shop, start_date="2024-01-01", bill_day=1)
    resp = await stack.api.post(
        f"/v1/subscriptions/{sub['id']}/changes",
        headers=shop.tenant.post_headers(),
        json={"type": "change_plan", "plan": shop.dear, "effective_date": "2024-01-11"},
    )
    assert resp.status_code == 202, resp.text
    assert resp.json()["change"]["timing"] == "immediate"
    await wait_process(stack.api, shop.tenant, resp.json()["process_id"])
    after = (await stack.api.get(f"/v1/subscriptions/{sub['id']}", headers=shop.tenant.auth)).json()
    old, new = after["services"]
    assert (old["status"], old["ended_on"], old["replaced_by"]) == ("terminated", "2024-01-11", new["id"])
    assert (new["plan"], new["status"], new["started_on"], new["line_id"]) == (
        shop.dear,
        "active",
        "2024-01-11",
        old["line_id"],
    )
    # 21 of 31 days: credit 21/31 x 31.00 = 21.00, charge 21/31 x 62.00 = 42.00
    assert [(c["kind"], c["amount_minor"]) for c in after["charges"][1:]] == [
        ("proration_credit", -2100),
        ("proration_charge", 4200),
    ]
    assert stack.broadband.actions()[-1] == ("change", old["line_id"])


async def test_downgrade_waits_for_the_end_of_term_and_can_be_cancelled(stack: Stack, shop: Shop) -> None:
    sub = await onboard(stack.api, shop, items=[{"plan": shop.dear}], start_date="2024-01-01", bill_day=1)
    # asked for a (fixed) day still to come on the Temporal server's clock, so the process must wait
    resp = await stack.api.post(
        f"/v1/subscriptions/{sub['id']}/changes",
        headers=shop.tenant.post_headers(),
        json={"type": "change_plan", "plan": shop.cheap, "effective_date": "2090-01-11"},
    )
    assert resp.status_code == 202, resp.text
    change = resp.json()["change"]
    assert (change["timing"], change["effective_on"]) == ("end_of_term", "2090-02-01")
    await wait_process(stack.api, shop.tenant, resp.json()["process_id"], status="running")

    async def view() -> dict[str, Any]:
        return dict((await stack.api.get(f"/v1/subscriptions/{sub['id']}", headers=shop.tenant.auth)).json())

    waiting = await eventually_async(
        view, until=lambda v: bool(v["scheduled_changes"]) and v["active_process_id"] is None, timeout=10
    )
    scheduled = waiting["scheduled_changes"]
    assert scheduled and scheduled[0]["effective_on"] == change["effective_on"]
    cancelled = await stack.api.delete(
        f"/v1/subscriptions/{sub['id']}/changes/{scheduled[0]['id']}", headers=shop.tenant.auth
    )
    assert cancelled.status_code == 200
    done = await wait_process(stack.api, shop.tenant, resp.json()["process_id"])
    assert done["step"] == "cancelled"
    view = (await stack.api.get(f"/v1/subscriptions/{sub['id']}", headers=shop.tenant.auth)).json()
    assert view["scheduled_changes"] == [] and view["services"][0]["plan"] == shop.dear


async def test_suspend_resume_terminate(stack: Stack, shop: Shop) -> None:
    sub = await onboard(stack.api, shop, start_date="2024-01-01", bill_day=1)
    url = f"/v1/subscriptions/{sub['id']}"
    line = sub["services"][0]["line_id"]
    suspended = await stack.api.post(
        f"{url}/suspend",
        headers=shop.tenant.post_headers(),
        json={"reason": "customer travel", "effective_date": "2024-01-21", "pause_billing": True},
    )
    assert suspended.status_code == 202, suspended.text
    await wait_process(stack.api, shop.tenant, suspended.json()["process_id"])
    twice = await stack.api.post(f"{url}/suspend", headers=shop.tenant.post_headers(), json={})
    assert twice.status_code == 409 and twice.json()["code"] == "invalid_state"
    resumed = await stack.api.post(
        f"{url}/resume", headers=shop.tenant.post_headers(), json={"effective_date": "2024-01-26"}
    )
    await wait_process(stack.api, shop.tenant, resumed.json()["process_id"])
    ended = await stack.api.post(
        f"{url}/terminate",
        headers=shop.tenant.post_headers(),
        json={"effective_date": "2024-01-30", "reason": "moving abroad"},
    )
    await wait_process(stack.api, shop.tenant, ended.json()["process_id"])
    view = (await stack.api.get(url, headers=shop.tenant.auth)).json()
    assert view["status"] == "terminated" and view["end_date"] == "2024-01-30"
    # pause: credit 11/31 x 31.00; resume: charge 6/31 x 31.00; terminate: credit 2/31 x 31.00
    assert [(c["kind"], c["amount_minor"]) for c in view["charges"][1:]] == [
        ("proration_credit", -1100),
        ("proration_charge", 600),
        ("proration_credit", -200),
    ]
    assert [a for a, _ in stack.broadband.actions()] == ["activate", "suspend", "resume", "terminate"]
    assert {lid for _, lid in stack.broadband.actions()} == {line}
    assert [h["kind"] for h in view["history"]] == ["created", "activated", "suspend", "resume", "terminate"]
    assert view["history"][2]["reason"] == "customer travel"
    late = await stack.api.post(
        f"{url}/changes", headers=shop.tenant.post_headers(), json={"type": "change_plan", "plan": shop.dear}
    )
    assert late.status_code == 409 and late.json()["code"] == "invalid_state"


@pytest.mark.today("2024-03-12T10:00:00+00:00")  # regret is judged against today: two days after the start
async def test_regret_in_the_cooling_off_period(stack: Stack, shop: Shop) -> None:
    sub = await onboard(stack.api, shop, start_date="2024-03-10")
    resp = await stack.api.post(
        f"/v1/subscriptions/{sub['id']}/regret",
        headers=shop.tenant.post_headers(),
        json={"reason": "changed my mind"},
    )
    assert resp.status_code == 202, resp.text
    await wait_process(stack.api, shop.tenant, resp.json()["process_id"])
    view = (await stack.api.get(f"/v1/subscriptions/{sub['id']}", headers=shop.tenant.auth)).json()
    assert view["status"] == "regretted"
    assert {c["status"] for c in view["charges"]} == {"void"}


async def test_one_process_at_a_time(stack: Stack, shop: Shop) -> None:
    sub = await onboard(stack.api, shop, start_date="2024-01-01")
    url = f"/v1/subscriptions/{sub['id']}"
    first, second = await asyncio.gather(
        stack.api.post(
            f"{url}/suspend", headers=shop.tenant.post_headers(), json={"effective_date": "2024-01-21"}
        ),
        stack.api.post(
            f"{url}/changes",
            headers=shop.tenant.post_headers(),
            json={"type": "change_plan", "plan": shop.dear, "effective_date": "2024-01-21"},
        ),
    )
    codes = sorted([first.status_code, second.status_code])
    assert codes == [202, 409], (first.text, second.text)
    loser = first if first.status_code == 409 else second
    assert loser.json()["code"] in ("subscription_busy", "invalid_state")


async def test_a_new_request_whose_process_exists_answers_409(stack: Stack, shop: Shop) -> None:
    """A process id is taken only by an earlier request with the same key; if one exists for a request
    the API has not seen, the request answers 409 and leaves the subscription free."""
    sub = await onboard(stack.api, shop, start_date="2024-01-01")
    key = uuid.uuid4().hex
    process_id = process_ids.subscription_request("suspend", sub["id"], key)
    stray = ChangePlan(
        subscription_id=sub["id"],
        process_id=process_id,
        actor="test",
        action="suspend",
        effective_on=date(2024, 1, 21),
        run_at=datetime(2024, 1, 21, tzinfo=UTC),
    )
    handle = await stack.client.start_workflow(
        SubscriptionActionWorkflow.run, stray, id=process_id, task_queue=f"nobody-{key}"
    )
    try:
        url = f"/v1/subscriptions/{sub['id']}/suspend"
        taken = await stack.api.post(url, headers=shop.tenant.post_headers(key), json={})
        assert taken.status_code == 409, taken.text
        assert taken.json()["code"] == "process_already_started"
        assert taken.json()["process_id"] == process_id
    finally:
        await handle.terminate("test done")
    again = await stack.api.post(url, headers=shop.tenant.post_headers(), json={})
    assert again.status_code == 202, again.text  # the refused request released the subscription


async def test_bad_orders_start_nothing(stack: Stack, shop: Shop, database_url: str) -> None:
    other = make_operator(database_url)
    cases = [
        ({"account_id": shop.account_id, "items": [{"plan": "no-such-plan"}]}, 404, "plan_not_found"),
        (
            {"account_id": shop.account_id, "items": [{"plan": shop.cheap, "addons": [shop.dear]}]},
            422,
            "addon_not_allowed",
        ),
        ({"account_id": shop.account_id, "items": [{"plan": shop.addon}]}, 422, "invalid_plan_role"),
        (
            {"account_id": "acc_01JD0000000000000000000000", "items": [{"plan": shop.cheap}]},
            404,
            "account_not_found",
        ),
        ({"account_id": shop.account_id, "items": []}, 422, "validation_error"),
        (
            {"account_id": shop.account_id, "items": [{"plan": shop.cheap}], "start_date": "2999-01-01"},
            422,
            "start_too_far",
        ),
    ]
    for body, status, code in cases:
        resp = await stack.api.post("/v1/subscriptions", json=body, headers=shop.tenant.post_headers())
        assert (resp.status_code, resp.json()["code"]) == (status, code), (body, resp.text)
    usd = (
        await stack.api.post(
            "/v1/accounts",
            headers=shop.tenant.post_headers(),
            json={**person(), "currency": "USD"},
        )
    ).json()
    resp = await stack.api.post(
        "/v1/subscriptions",
        headers=shop.tenant.post_headers(),
        json={"account_id": usd["id"], "items": [{"plan": shop.cheap}]},
    )
    assert resp.status_code == 422 and resp.json()["code"] == "currency_not_priced"
    foreign = await stack.api.post(
        "/v1/subscriptions",
        headers=other.post_headers(),
        json={"account_id": shop.account_id, "items": [{"plan": shop.cheap}]},
    )
    assert foreign.status_code == 404
    assert (
        count(
            database_url,
            "select count(*) from subscriptions where organisation_id=:o",
            o=shop.tenant.organisation_id,
        )
        == 0
    )
    sub = await onboard(stack.api, shop, start_date="2024-05-01")
    early = await stack.api.post(
        f"/v1/subscriptions/{sub['id']}/changes",
        headers=shop.tenant.post_headers(),
        json={"type": "change_plan", "plan": shop.dear, "effective_date": "2024-04-01"},
    )
    assert early.status_code == 422 and early.json()["code"] == "date_before_start"
    assert (await stack.api.get(f"/v1/subscriptions/{sub['id']}", headers=other.auth)).status_code == 404


async def test_terminate_at_the_end_of_the_term_is_scheduled(stack: Stack, shop: Shop) -> None:
    sub = await onboard(stack.api, shop, start_date="2024-01-01", bill_day=1)
    # asked on a (fixed) day still to come on the Temporal server's clock: the end of its period waits
    resp = await stack.api.post(
        f"/v1/subscriptions/{sub['id']}/terminate",
        headers=shop.tenant.post_headers(),
        json={"timing": "end_of_term", "effective_date": "2090-01-11"},
    )
    assert resp.status_code == 202, resp.text
    end = resp.json()["change"]["effective_on"]
    assert end == "2090-02-01"  # the end of that period
    await wait_process(stack.api, shop.tenant, resp.json()["process_id"], status="running")

    async def current() -> dict[str, Any]:
        return dict((await stack.api.get(f"/v1/subscriptions/{sub['id']}", headers=shop.tenant.auth)).json())

    view = await eventually_async(current, until=lambda v: bool(v["scheduled_changes"]), timeout=10)
    assert [(c["kind"], c["effective_on"]) for c in view["scheduled_changes"]] == [("terminate", end)]
    assert view["status"] == "active"


async def test_onboarding_reserves_and_hands_over_a_device(stack: Stack, database_url: str) -> None:
    shop = make_device_shop(database_url)
    (box,) = receive(database_url, shop, 1)
    tenant = shop.tenant

    async def order() -> dict[str, object]:
        account = (await stack.api.post("/v1/accounts", json=person(), headers=tenant.post_headers())).json()
        started = await stack.api.post(
            "/v1/subscriptions",
            headers=tenant.post_headers(),
            json={"account_id": account["id"], "items": [{"plan": shop.plan}], "start_date": "2024-03-10"},
        )
        assert started.status_code == 202, started.text
        await wait_process(stack.api, tenant, started.json()["process_id"])
        return dict(
            (
                await stack.api.get(
                    f"/v1/subscriptions/{started.json()['subscription_id']}", headers=tenant.auth
                )
            ).json()
        )

    first = await order()
    assert first["status"] == "active"
    row = device_row(database_url, box)
    assert (row["state"], row["subscription_id"]) == ("assigned", first["id"])
    assert stack.video.orders[-1].device is not None and stack.video.orders[-1].device["device_id"] == box
    second = await order()  # nothing left in stock: compensated, nothing held
    assert second["status"] == "failed" and "stock" in second["failure_reason"]
    assert device_row(database_url, box)["state"] == "assigned"
