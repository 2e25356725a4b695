"""The quote of a plan change between renting plans prices the rental as the bill does: the old plan's
rental up to the change, then the new plan's on its grid (tests/integration/test_billing_rental_changes.py,
monthly to yearly before the first run), so the quote's rental lines are the invoices'."""

from __future__ import annotations

import pytest

from tests.support.billing_runs import bill, change_plan
from tests.support.demo_billing import quoted, rentals, renting_plans, subscribe
from tests.support.subscription_support import Stack

pytestmark = pytest.mark.calendar


async def test_the_quote_of_a_monthly_to_yearly_change_rents_as_the_bill(
    stack: Stack, database_url: str
) -> None:
    tenant, monthly, yearly = await renting_plans(stack, database_url)
    sub = await subscribe(stack, tenant, "2025-01-01", {"items": [{"plan": monthly}]})
    await change_plan(stack, tenant, sub, yearly, effective_date="2025-03-20", timing="immediate")
    for day in ("2025-04-01", "2026-01-01"):
        await bill(stack, tenant, 1, day)
    quote = await quoted(
        stack,
        tenant,
        sub["account_id"],
        [
            {
                "plan": monthly,
                "start": "2025-01-01",
                "periods": 13,
                "change_to": yearly,
                "change_on": "2025-03-20",
            }
        ],
    )
    quoted_rentals = sorted(
        (line["service_start"], line["service_end"], line["amount"]["amount_minor"])
        for line in quote["lines"]
        if line["kind"] == "device_rental"
    )
    assert (
        quoted_rentals
        == rentals(database_url, sub)
        == [
            ("2025-01-01", "2025-02-01", 300),
            ("2025-02-01", "2025-03-01", 300),
            ("2025-03-01", "2025-03-20", 184),
            ("2025-03-20", "2026-01-01", 2831),
            ("2026-01-01", "2027-01-01", 3600),
        ]
    )
