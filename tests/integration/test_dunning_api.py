"""The dunning ladder through the API, and a payment that stops a running Dunning process."""

from __future__ import annotations

import asyncio

from activities.dunning.io import DunningInput
from domain import process_ids
from domain.dunning import Ladder, Step
from tests.support.billing_factory import Line, make_invoice
from tests.support.catalog_factory import post
from tests.support.factories import make_operator, person
from tests.support.subscription_support import Stack
from workflows.dunning import DunningWorkflow


async def test_the_ladder_is_the_operators_to_set(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    got = (await stack.api.get("/v1/dunning/ladder", headers=tenant.auth)).json()
    assert got["default"] is True and [s["day"] for s in got["steps"]] == [1, 9, 13, 20, 40, 60]
    ladder = {
        "steps": [{"day": 2, "actions": ["retry"]}, {"day": 10, "actions": ["notice:warning", "suspend"]}]
    }
    put = await stack.api.put("/v1/dunning/ladder", json=ladder, headers=tenant.auth)
    assert put.status_code == 200 and put.json()["default"] is False
    assert (await stack.api.get("/v1/dunning/ladder", headers=tenant.auth)).json()["steps"] == ladder["steps"]
    bad = await stack.api.put(
        "/v1/dunning/ladder",
        headers=tenant.auth,
        json={"steps": [{"day": 10, "actions": ["retry"]}, {"day": 2, "actions": ["retry"]}]},
    )
    assert bad.status_code == 422 and bad.json()["code"] == "ladder_order"
    unknown = await stack.api.put(
        "/v1/dunning/ladder", headers=tenant.auth, json={"steps": [{"day": 1, "actions": ["shout"]}]}
    )
    assert unknown.status_code == 422


async def test_a_cash_payment_stops_dunning(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    account = await post(stack.api, tenant, "/v1/accounts", person())
    invoice_id = make_invoice(database_url, account["id"], [Line("Fibre", 1000)])
    handle = await stack.client.start_workflow(
        DunningWorkflow.run,
        DunningInput(
            invoice_id=invoice_id,
            account_id=account["id"],
            organisation_id=tenant.organisation_id,
            ladder=Ladder(steps=[Step(day=30, actions=["retry"])]),
        ),
        id=process_ids.dunning(invoice_id),
        task_queue=stack.task_queue,
    )
    paid = await stack.api.post(
        "/v1/payments",
        headers=tenant.post_headers(),
        json={
            "account_id": account["id"],
            "amount_minor": 1210,
            "currency": "EUR",
            "method": "cash",
            "allocation": "chosen",
            "invoice_ids": [invoice_id],
        },
    )
    assert paid.status_code == 201, paid.text
    # The ladder's only step is 30 days away on a real clock: only the payment can end it now. A lost
    # signal fails here (instead of hanging for 30 days).
    result = await asyncio.wait_for(handle.result(), timeout=60)
    assert result.outcome == "paid" and result.attempts == 0
