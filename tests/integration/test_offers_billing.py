"""Offers end to end through real bill runs and processes (API + worker on the dev Temporal server):
a 20% discount for 3 periods shows on three invoices as its own line and not on the fourth (and the quote
shows it), and an add-on offer is bought through the PlanChange process and billed free for its periods.

The demo catalogue: Fibre 600 Mb 30.00/month renting a router at 3.00/month, IVA 21%."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import time_machine

from domain.offers import LINE_KIND
from tests.support.billing_runs import bill, plans
from tests.support.billing_runs import subscribe as subscribe_plan
from tests.support.demo_billing import FIBRE, RENTAL, invoices, quoted, seed, subscribe
from tests.support.factories import Tenant, make_operator
from tests.support.fake_today import parse
from tests.support.subscription_support import Stack, wait_process

pytestmark = [pytest.mark.calendar, pytest.mark.today("2026-03-01T12:00:00+00:00")]


async def offer(stack: Stack, tenant: Tenant, **body: Any) -> dict[str, Any]:
    resp = await stack.api.post(
        "/v1/offers",
        json={
            "code": f"o-{uuid.uuid4().hex[:6]}",
            "name": "Offer",
            "currency": "EUR",
            "starts_on": "2026-01-01",
            **body,
        },
        headers=tenant.post_headers(),
    )
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def bill_on(stack: Stack, tenant: Tenant, day: str) -> None:
    with time_machine.travel(parse(f"{day}T12:00:00+00:00"), tick=True):
        await bill(stack, tenant, 1, day)


async def test_a_20_percent_discount_for_3_periods_is_its_own_line_on_three_invoices(
    stack: Stack, database_url: str
) -> None:
    tenant = make_operator(database_url)
    seed(database_url, tenant)
    sub = await subscribe(stack, tenant, "2026-03-01", FIBRE)
    spring = await offer(stack, tenant, kind="discount", plan_code="demo-fibre-600", percent="20", periods=3)
    assert spring["estimated_cost_minor"] == 1800  # 6.00 off 30.00, three periods
    accepted = await stack.api.post(
        f"/v1/accounts/{sub['account_id']}/offers/{spring['id']}/accept",
        json={},
        headers=tenant.post_headers(),
    )
    assert accepted.status_code == 201, accepted.text
    quote = await quoted(
        stack, tenant, sub["account_id"], [{"plan": "demo-fibre-600", "start": "2026-03-01", "periods": 4}]
    )
    assert [
        (ln["period_start"], ln["amount"]["amount_minor"]) for ln in quote["lines"] if ln["kind"] == LINE_KIND
    ] == [
        ("2026-03-01", -600),
        ("2026-04-01", -600),
        ("2026-05-01", -600),
    ]
    for day in ("2026-03-01", "2026-04-01", "2026-05-01", "2026-06-01"):
        await bill_on(stack, tenant, day)
    again = await bill(stack, tenant, 1, "2026-03-01")  # a second run of a billed day: nothing more
    assert again["counts"]["invoices"] == 0
    found = invoices(database_url, sub["account_id"])
    assert len(found) == 4
    text = f"offer {spring['code']}: 20% off demo-fibre-600"
    for (totals, lines), (start, end) in zip(
        found[:3],
        [("2026-03-01", "2026-04-01"), ("2026-04-01", "2026-05-01"), ("2026-05-01", "2026-06-01")],
        strict=True,
    ):
        # 30.00 + 3.00 rental - 6.00 = 27.00; IVA 21% = 5.67; total 32.67
        assert totals == (2700, 567, 3267)
        assert lines == [
            ("recurring", f"Fibre 600 Mb {start} to {end}", start, end, 3000),
            ("device_rental", f"{RENTAL} {start} to {end}", start, end, 300),
            (LINE_KIND, f"{text} ({start} to {end})", start, end, -600),
        ]
    totals, lines = found[3]
    assert totals == (3300, 693, 3993)
    assert LINE_KIND not in [line[0] for line in lines]
    listed = await stack.api.get(f"/v1/offers/{spring['id']}", headers=tenant.auth)
    assert listed.json()["redemptions"] == {"active": 0, "completed": 1}  # its three periods are used
    holds = await stack.api.get(f"/v1/accounts/{sub['account_id']}/offers", headers=tenant.auth)
    assert spring["id"] not in [o["id"] for o in holds.json()["data"]]  # once per account


async def test_an_add_on_offer_goes_through_plan_change_and_is_billed_free(
    stack: Stack, database_url: str
) -> None:
    tenant = make_operator(database_url)
    codes = await plans(stack, tenant)
    sub = await subscribe_plan(stack, tenant, codes["cheap"], "2026-03-01", 1)
    free_tv = await offer(stack, tenant, kind="addon", plan_code=codes["addon"], percent="100", periods=2)
    accepted = await stack.api.post(
        f"/v1/accounts/{sub['account_id']}/offers/{free_tv['id']}/accept",
        json={"channel": "web"},
        headers=tenant.post_headers(),
    )
    assert accepted.status_code == 201, accepted.text
    process_id = accepted.json()["process_id"]
    assert process_id and accepted.json()["subscription_id"] == sub["subscription_id"]
    process = await wait_process(stack.api, tenant, process_id)
    assert process["status"] == "completed", process
    detail = await stack.api.get(f"/v1/subscriptions/{sub['subscription_id']}", headers=tenant.auth)
    assert codes["addon"] in [s["plan"] for s in detail.json()["services"]]
    for day in ("2026-03-01", "2026-04-01", "2026-05-01"):
        await bill_on(stack, tenant, day)
    found = invoices(database_url, sub["account_id"])
    text = f"offer {free_tv['code']}: 100% off {codes['addon']}"
    # March: the add-on's charge for the rest of the period (the change made it) is free (the subscription's
    # lines come before the pending charges), then April; May pays 6.20 again
    assert [[line for line in lines if codes["addon"] in line[1]] for _, lines in found] == [
        [
            (LINE_KIND, f"{text} (2026-03-01 to 2026-04-01)", "2026-03-01", "2026-04-01", -620),
            (
                "proration_charge",
                f"add-on added: remaining days of Plan {codes['addon']}",
                "2026-03-01",
                "2026-04-01",
                620,
            ),
        ],
        [
            ("recurring", f"Plan {codes['addon']} 2026-04-01 to 2026-05-01", "2026-04-01", "2026-05-01", 620),
            (LINE_KIND, f"{text} (2026-04-01 to 2026-05-01)", "2026-04-01", "2026-05-01", -620),
        ],
        [("recurring", f"Plan {codes['addon']} 2026-05-01 to 2026-06-01", "2026-05-01", "2026-06-01", 620)],
    ]
    assert [totals for totals, _ in found] == [(3100, 0, 3100), (3100, 0, 3100), (3720, 0, 3720)]


async def test_an_upgrade_at_a_special_price_goes_through_plan_change(
    stack: Stack, database_url: str
) -> None:
    """62.00 for 31.00 (31.00 off) for two periods, then the full price."""
    tenant = make_operator(database_url)
    codes = await plans(stack, tenant)
    sub = await subscribe_plan(stack, tenant, codes["cheap"], "2026-03-01", 1)
    special = await offer(
        stack, tenant, kind="upgrade", plan_code=codes["dear"], amount_minor=3100, periods=2
    )
    assert special["estimated_cost_minor"] == 6200
    accepted = await stack.api.post(
        f"/v1/accounts/{sub['account_id']}/offers/{special['id']}/accept",
        json={},
        headers=tenant.post_headers(),
    )
    assert accepted.status_code == 201, accepted.text
    process = await wait_process(stack.api, tenant, accepted.json()["process_id"])
    assert (process["process"], process["status"]) == ("PlanChange", "completed")
    for day in ("2026-03-01", "2026-04-01", "2026-05-01"):
        await bill_on(stack, tenant, day)
    found = invoices(database_url, sub["account_id"])
    assert [totals for totals, _ in found] == [(3100, 0, 3100), (3100, 0, 3100), (6200, 0, 6200)]
    dear, text = codes["dear"], f"offer {special['code']}: 31.00 EUR off {codes['dear']}"
    assert [lines for _, lines in found] == [
        [
            (LINE_KIND, f"{text} (2026-03-01 to 2026-04-01)", "2026-03-01", "2026-04-01", -3100),
            (
                "proration_charge",
                f"plan change: remaining days of Plan {dear}",
                "2026-03-01",
                "2026-04-01",
                6200,
            ),
        ],
        [
            ("recurring", f"Plan {dear} 2026-04-01 to 2026-05-01", "2026-04-01", "2026-05-01", 6200),
            (LINE_KIND, f"{text} (2026-04-01 to 2026-05-01)", "2026-04-01", "2026-05-01", -3100),
        ],
        [("recurring", f"Plan {dear} 2026-05-01 to 2026-06-01", "2026-05-01", "2026-06-01", 6200)],
    ]
