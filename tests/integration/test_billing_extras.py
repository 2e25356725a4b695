"""Device rentals and bundle discounts through real bill runs on the demo catalogue: every invoice line
exact to the cent, each billed once per period (a second run of the same day bills nothing), the rental
ends with the device's return, and a full period's invoice equals the quote for that period.

The demo catalogue: Fibre 600 Mb 30.00/month renting a router at 3.00/month, TV Basic 15.00/month,
the fibre + TV bundle 10% off (the plans' recurring charges, not the rental), IVA 21%."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.billing_runs import bill
from tests.support.catalog_factory import plan
from tests.support.demo_billing import (
    HOME,
    RENTAL,
    Row,
    device_and_warehouse,
    home_month,
    invoices,
    ledger,
    quoted,
    seed,
    subscribe,
)
from tests.support.factories import make_operator
from tests.support.subscription_support import Stack

pytestmark = pytest.mark.calendar


def same_as_quote(invoice: tuple[tuple[int, int, int], list[Row]], quote: dict[str, Any]) -> None:
    (net, tax, total), lines = invoice
    totals = quote["totals"]
    assert (net, tax, total) == (
        totals["net"]["amount_minor"],
        totals["tax"]["amount_minor"],
        totals["gross"]["amount_minor"],
    )
    assert sorted((kind, amount) for kind, _, _, _, amount in lines) == sorted(
        (line["kind"], line["amount"]["amount_minor"]) for line in quote["lines"]
    )


FIBRE_MARCH = "Fibre 600 Mb 2026-03-10 to 2026-04-01"


@pytest.mark.today("2026-04-20T10:00:00+00:00")  # the router goes back today, between two bill runs
async def test_a_rented_router_is_billed_each_period_until_it_is_returned(
    stack: Stack, database_url: str
) -> None:
    tenant = make_operator(database_url)
    seed(database_url, tenant)
    sub = await subscribe(stack, tenant, "2026-03-10", {"items": [{"plan": "demo-fibre-600"}]})
    await bill(stack, tenant, 1, "2026-03-10")
    await bill(stack, tenant, 1, "2026-04-01")
    again = await bill(stack, tenant, 1, "2026-04-01")  # the same day again: nothing more to bill
    assert again["counts"]["invoices"] == 0
    march, april = invoices(database_url, sub["account_id"])
    # 22/31 of March: 30.00 -> 21.29 (2129.03), 3.00 -> 2.13 (212.90); IVA 21% of 23.42 = 4.9182 -> 4.92
    assert march == (
        (2342, 492, 2834),
        [
            ("recurring", FIBRE_MARCH, "2026-03-10", "2026-04-01", 2129),
            ("device_rental", f"{RENTAL} 2026-03-10 to 2026-04-01", "2026-03-10", "2026-04-01", 213),
        ],
    )
    # April in full: 30.00 + 3.00, IVA 6.93
    assert april == (
        (3300, 693, 3993),
        [
            ("recurring", "Fibre 600 Mb 2026-04-01 to 2026-05-01", "2026-04-01", "2026-05-01", 3000),
            ("device_rental", f"{RENTAL} 2026-04-01 to 2026-05-01", "2026-04-01", "2026-05-01", 300),
        ],
    )
    quote = await quoted(
        stack, tenant, sub["account_id"], [{"plan": "demo-fibre-600", "start": "2026-04-01", "periods": 1}]
    )
    same_as_quote(april, quote)
    assert ledger(database_url, sub["account_id"]) == {
        "receivable": (2834 + 3993, 0),
        "revenue:broadband": (0, 2129 + 3000),
        "revenue:device": (0, 213 + 300),
        "tax:ES-standard": (0, 492 + 693),
    }

    device_id, warehouse_id = device_and_warehouse(database_url, tenant, sub)
    returned = await stack.api.post(
        f"/v1/devices/{device_id}/return", headers=tenant.post_headers(), json={"warehouse_id": warehouse_id}
    )
    assert returned.status_code == 200, returned.text
    await bill(stack, tenant, 1, "2026-05-01")
    *_, may = invoices(database_url, sub["account_id"])
    assert may == (  # returned on 20 April: May has no rental
        (3000, 630, 3630),
        [("recurring", "Fibre 600 Mb 2026-05-01 to 2026-06-01", "2026-05-01", "2026-06-01", 3000)],
    )


async def test_a_bundle_is_billed_with_its_discount_and_rental_as_quoted(
    stack: Stack, database_url: str
) -> None:
    tenant = make_operator(database_url)
    seed(database_url, tenant)
    sub = await subscribe(stack, tenant, "2026-03-01", HOME)
    for day in ("2026-03-01", "2026-04-01", "2026-04-01"):
        await bill(stack, tenant, 1, day)
    march, april = invoices(database_url, sub["account_id"])
    assert march == home_month("2026-03-01", "2026-04-01")
    assert april == home_month("2026-04-01", "2026-05-01")
    items = [{"plan": item["plan"], "bundle": "demo-home", "start": "2026-04-01"} for item in HOME["items"]]
    same_as_quote(april, await quoted(stack, tenant, sub["account_id"], items))
    assert ledger(database_url, sub["account_id"]) == {
        "receivable": (2 * 5264, 0),
        "revenue:broadband": (0, 2 * (3000 - 300)),
        "revenue:video": (0, 2 * (1500 - 150)),
        "revenue:device": (0, 2 * 300),
        "tax:ES-standard": (0, 2 * 914),
    }


@pytest.mark.today("2026-04-20T10:00:00+00:00")
async def test_an_invoice_at_activation_bills_the_rental_once(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    seed(database_url, tenant)
    router = {"product_code": "demo-router", "mode": "rent", "prices": {"EUR": "3.00"}}
    code = await plan(
        stack.api,
        tenant,
        product_code="demo-fibre",
        prices={"EUR": "30.00"},
        device=router,
        invoice_on_activation=True,
    )
    sub = await subscribe(stack, tenant, "2026-03-10", {"items": [{"plan": code}]})
    first = await bill(stack, tenant, 1, "2026-03-10")  # Onboarding invoiced March already
    assert first["counts"]["invoices"] == 0
    await bill(stack, tenant, 1, "2026-04-01")
    name = f"Plan {code}"
    assert invoices(database_url, sub["account_id"]) == [
        (
            (2342, 492, 2834),
            [
                ("recurring", f"{name} 2026-03-10 to 2026-04-01", "2026-03-10", "2026-04-01", 2129),
                ("device_rental", f"{RENTAL} 2026-03-10 to 2026-04-01", "2026-03-10", "2026-04-01", 213),
            ],
        ),
        (
            (3300, 693, 3993),
            [
                ("recurring", f"{name} 2026-04-01 to 2026-05-01", "2026-04-01", "2026-05-01", 3000),
                ("device_rental", f"{RENTAL} 2026-04-01 to 2026-05-01", "2026-04-01", "2026-05-01", 300),
            ],
        ),
    ]
