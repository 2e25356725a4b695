"""Prepaid (wallet) terms: onboarding debits the first period, a bill run renews from the wallet and
suspends the services a wallet cannot pay; prepaid terms are never invoiced."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from models.base import engine_for
from tests.support.catalog_factory import plan, post, product
from tests.support.eventually import eventually_async
from tests.support.factories import Tenant, make_operator, person
from tests.support.subscription_support import Stack, wait_process
from tests.support.usage_factory import CGRATES, event, ingest, rate, voice_charge

# Wallet shortfalls suspend and top-ups resume "today": each test fixes its today (in the past, so the
# suspension is due at once on the Temporal server's real clock).
pytestmark = pytest.mark.calendar


async def prepaid_customer(
    stack: Stack, tenant: Tenant, plan_code: str, top_up: int, start: str
) -> dict[str, Any]:
    account = await post(stack.api, tenant, "/v1/accounts", person())
    if top_up:
        resp = await stack.api.post(
            f"/v1/accounts/{account['id']}/wallets/EUR/top-ups",
            headers=tenant.post_headers(),
            json={"method": "cash", "amount_minor": top_up, "receipt": "R-1"},
        )
        assert resp.status_code in (200, 201), resp.text
    started = await stack.api.post(
        "/v1/subscriptions",
        headers=tenant.post_headers(),
        json={"account_id": account["id"], "items": [{"plan": plan_code}], "start_date": start},
    )
    assert started.status_code == 202, started.text
    await wait_process(stack.api, tenant, started.json()["process_id"])
    sub = (
        await stack.api.get(f"/v1/subscriptions/{started.json()['subscription_id']}", headers=tenant.auth)
    ).json()
    return {"account_id": account["id"], "subscription": sub}


def balance(database_url: str, account_id: str) -> int:
    with engine_for(database_url).connect() as conn:
        return int(
            conn.execute(
                sa.text("select balance_minor from wallets where account_id=:a"), {"a": account_id}
            ).scalar_one()
        )


@pytest.mark.today("2024-04-12T10:00:00+00:00")
async def test_prepaid_onboarding_and_renewal(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    fee = [{"code": "sim", "name": "SIM card", "prices": {"EUR": "2.00"}}]
    code = await plan(stack.api, tenant, prices={"EUR": "10.00"}, billing_term="prepaid", one_off_fees=fee)
    start = "2024-03-05"  # bill day 5: renewed on 2024-04-05
    rich = await prepaid_customer(stack, tenant, code, 2500, start)
    poor = await prepaid_customer(stack, tenant, code, 1500, start)
    broke = await prepaid_customer(stack, tenant, code, 0, start)
    # the first period and the SIM fee are paid from the wallet at onboarding
    assert rich["subscription"]["status"] == "active" and balance(database_url, rich["account_id"]) == 1300
    assert poor["subscription"]["status"] == "active" and balance(database_url, poor["account_id"]) == 300
    assert {c["status"] for c in rich["subscription"]["charges"]} == {"invoiced"}
    assert broke["subscription"]["status"] == "failed"
    assert "top it up" in broke["subscription"]["failure_reason"]
    assert rich["subscription"]["bill_day"] == 5
    run = await stack.api.post(
        "/v1/billing-runs",
        headers=tenant.post_headers(),
        json={"bill_day": 5, "period_date": "2024-04-09"},
    )
    assert run.status_code == 202, run.text
    await wait_process(stack.api, tenant, run.json()["process_id"])
    done = (await stack.api.get(f"/v1/billing-runs/{run.json()['id']}", headers=tenant.auth)).json()
    assert done["counts"]["invoices"] == 0
    assert (done["counts"]["prepaid_debited"], done["counts"]["prepaid_unfunded"]) == (1, 1)
    assert balance(database_url, rich["account_id"]) == 300

    async def poor_view() -> dict[str, Any]:
        url = f"/v1/subscriptions/{poor['subscription']['id']}"
        return dict((await stack.api.get(url, headers=tenant.auth)).json())

    view = await eventually_async(poor_view, until=lambda v: v["status"] == "suspended", timeout=15)
    assert view["status"] == "suspended"
    assert balance(database_url, poor["account_id"]) == 300
    # a top-up that pays the period resumes the services at once
    topped = await stack.api.post(
        f"/v1/accounts/{poor['account_id']}/wallets/EUR/top-ups",
        headers=tenant.post_headers(),
        json={"method": "cash", "amount_minor": 1000, "receipt": "R-2"},
    )
    assert topped.status_code == 201, topped.text
    view = await eventually_async(poor_view, until=lambda v: v["status"] == "active", timeout=15)
    assert view["status"] == "active"
    assert balance(database_url, poor["account_id"]) == 300  # 300 + 1000 top-up - 1000 for the period


@pytest.mark.today("2024-04-12T10:00:00+00:00")
async def test_prepaid_calls_are_authorised_by_the_wallet_and_debited_when_rated(
    stack: Stack, database_url: str
) -> None:
    tenant = make_operator(database_url)
    phone = await product(stack.api, tenant, "telephony")
    code = await plan(
        stack.api,
        tenant,
        product_code=phone,
        prices={"EUR": "10.00"},
        billing_term="prepaid",
        usage=[voice_charge(call=CGRATES)],
    )
    customer = await prepaid_customer(stack, tenant, code, 1100, "2024-04-09")
    sub_id = customer["subscription"]["id"]
    assert balance(database_url, customer["account_id"]) == 100  # 1.00 left after the first period
    auth = await stack.api.post(
        "/v1/usage/authorize",
        headers=tenant.auth,
        json={"subscriber": sub_id, "event_type": "voice", "destination": "+34911000000"},
    )
    assert auth.status_code == 200, auth.text
    # 1.00 pays 0.40 connect + 0.20 for the first minute + 0.40 at 0.10/min: 60 + 240 = 300 s
    assert auth.json()["max_quantity"] == 300 and auth.json()["funds_available"] == "1.00"
    stored = await ingest(stack.api, tenant, [event(sub_id, 130, datetime(2024, 4, 12, 9, tzinfo=UTC))])
    assert stored["accepted"] == 1
    await rate(stack.api, tenant)
    assert balance(database_url, customer["account_id"]) == 28  # 0.7167 rounded once to 0.72
