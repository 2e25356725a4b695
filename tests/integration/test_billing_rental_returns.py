"""A rented router returned while its service stays active, through real bill runs: the unused days of
the rental period billed in advance are credited once (the next run's credit note, booked against
device revenue, balanced ledger), as the quote prorates the rental to the return day; a later
termination does not credit the rental again.

The demo catalogue: Fibre 600 Mb 30.00/month renting a router at 3.00/month, IVA 21%."""

from __future__ import annotations

import pytest

from tests.support.billing_runs import action, bill
from tests.support.demo_billing import (
    FIBRE,
    device_and_warehouse,
    invoices,
    ledger,
    notes,
    pending_credits,
    quoted,
    seed,
    subscribe,
)
from tests.support.factories import make_operator
from tests.support.subscription_support import Stack

pytestmark = pytest.mark.calendar


@pytest.mark.today("2026-04-20T10:00:00+00:00")  # the router goes back today, April billed in advance
async def test_a_returned_router_credits_the_unused_days_of_its_rental_once(
    stack: Stack, database_url: str
) -> None:
    tenant = make_operator(database_url)
    seed(database_url, tenant)
    sub = await subscribe(stack, tenant, "2026-03-01", FIBRE)
    await bill(stack, tenant, 1, "2026-03-01")
    await bill(stack, tenant, 1, "2026-04-01")
    device_id, warehouse_id = device_and_warehouse(database_url, tenant, sub)
    headers = tenant.post_headers()
    for _ in range(2):  # a retried request is the same return
        returned = await stack.api.post(
            f"/v1/devices/{device_id}/return", headers=headers, json={"warehouse_id": warehouse_id}
        )
        assert returned.status_code == 200, returned.text
    assert pending_credits(database_url, sub) == [("rental_credit", -110)]  # at the return
    await action(stack, tenant, sub, "terminate", effective_date="2026-04-20")  # no rental left to credit
    await bill(stack, tenant, 1, "2026-05-01")
    assert len(invoices(database_url, sub["account_id"])) == 2  # March and April, no May
    # the router: 19/30 of April used = 3.00 -> 1.90, 1.10 unused, credited once (by its return);
    # the fibre: 11/30 of 30.00 = 11.00. Net 12.10, IVA 21% = 2.541 -> 2.54.
    assert notes(database_url, sub["account_id"]) == [
        ((-1210, -254, -1464), [("broadband", -1100), ("device", -110)])
    ]
    # the quote of April's rental up to the return day bills what was kept: 3.00 - 1.10
    quote = await quoted(
        stack,
        tenant,
        sub["account_id"],
        [{"plan": "demo-fibre-600", "start": "2026-04-01", "stop": "2026-04-20"}],
    )
    kept = [line["amount"]["amount_minor"] for line in quote["lines"] if line["kind"] == "device_rental"]
    assert kept == [300 - 110]
    assert ledger(database_url, sub["account_id"]) == {
        "receivable": (2 * 3993, 1464),
        "revenue:broadband": (1100, 2 * 3000),
        "revenue:device": (110, 2 * 300),
        "tax:ES-standard": (254, 2 * 693),
    }
