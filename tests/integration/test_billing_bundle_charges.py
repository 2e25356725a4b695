"""The charge for the rest of a period when a service sold in a discounted bundle starts again with a
change (billing resumed after a paused suspension) is net of the bundle discount, as the quote prices
that service from that day, through real bill runs on the demo catalogue.

The demo catalogue: Fibre 600 Mb 30.00/month (renting a router), TV Basic 15.00/month, the fibre + TV
bundle 10% off the plans' recurring charges, IVA 21%. Resumed on 20 April: 11 of April's 30 days."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from models.base import engine_for
from tests.support.billing_runs import action, bill
from tests.support.demo_billing import HOME, quoted, seed, subscribe
from tests.support.factories import make_operator
from tests.support.subscription_support import Stack

# The bill-run route refuses periods beyond the next run after today: today is after these 2026 periods.
pytestmark = [pytest.mark.calendar, pytest.mark.today("2026-06-15T12:00:00+00:00")]


def billed_charges(database_url: str, sub: dict[str, Any]) -> list[tuple[str, int]]:
    """The resumption's charges as the run invoiced them: (kind, amount)."""
    with engine_for(database_url).connect() as conn:
        rows = conn.execute(
            sa.text(
                "select kind, amount_minor from pending_charges where subscription_id = :s "
                "and kind = 'proration_charge' and status = 'invoiced' and invoice_id is not null"
            ),
            {"s": sub["subscription_id"]},
        ).all()
    return sorted(tuple(r) for r in rows)  # type: ignore[misc]


async def test_a_resumed_bundle_is_charged_net_of_its_discount_as_quoted(
    stack: Stack, database_url: str
) -> None:
    tenant = make_operator(database_url)
    seed(database_url, tenant)
    sub = await subscribe(stack, tenant, "2026-03-01", HOME)
    await bill(stack, tenant, 1, "2026-03-01")
    await bill(stack, tenant, 1, "2026-04-01")
    await action(stack, tenant, sub, "suspend", effective_date="2026-04-10", pause_billing=True)
    await action(stack, tenant, sub, "resume", effective_date="2026-04-20")
    await bill(stack, tenant, 1, "2026-05-01")
    # fibre 11/30 of 30.00 = 11.00 less 1.10 = 9.90; TV 11/30 of 15.00 = 5.50 less 0.55 = 4.95
    assert billed_charges(database_url, sub) == [("proration_charge", 495), ("proration_charge", 990)]
    for code, charged in (("demo-fibre-600", 990), ("demo-tv-basic", 495)):
        quote = await quoted(
            stack,
            tenant,
            sub["account_id"],
            [{"plan": code, "bundle": "demo-home", "start": "2026-04-20", "periods": 1}],
        )
        priced = [
            line["amount"]["amount_minor"]
            for line in quote["lines"]
            if line["kind"] in ("recurring", "discount")
        ]
        assert sum(priced) == charged
