"""A stop's credits through real bill runs on the demo catalogue, as the quote engine prices them: the
unused days of a rented router's billed period are credited with the recurring charge's, and the credit
of a service sold in a discounted bundle is net of the bundle's discount. Posted as a credit note with
balanced ledger entries.

The demo catalogue: Fibre 600 Mb 30.00/month renting a router at 3.00/month, TV Basic 15.00/month, the
fibre + TV bundle 10% off the plans' recurring charges (not the rental), IVA 21%. Terminated on
21 March, 11 of March's 31 days are unused."""

from __future__ import annotations

import pytest

from tests.support.billing_runs import action, bill
from tests.support.demo_billing import HOME, home_month, invoices, ledger, notes, seed, subscribe
from tests.support.factories import make_operator
from tests.support.subscription_support import Stack

pytestmark = pytest.mark.calendar


async def test_a_terminated_bundle_credits_its_unused_rental_and_is_net_of_its_discount(
    stack: Stack, database_url: str
) -> None:
    tenant = make_operator(database_url)
    seed(database_url, tenant)
    sub = await subscribe(stack, tenant, "2026-03-01", HOME)
    await bill(stack, tenant, 1, "2026-03-01")
    await action(stack, tenant, sub, "terminate", effective_date="2026-03-21", reason="moving")
    await bill(stack, tenant, 1, "2026-04-01")
    assert invoices(database_url, sub["account_id"]) == [home_month("2026-03-01", "2026-04-01")]
    # 11/31 unused: fibre 30.00 -> 10.65 less 10% (1.065 -> 1.07) = 9.58; TV 15.00 -> 5.32 less 0.53 = 4.79;
    # the router 3.00 less 20/31 used (1.94) = 1.06. Net 15.43, IVA 21% = 3.2403 -> 3.24.
    # each credit note line by its revenue kind
    assert notes(database_url, sub["account_id"]) == [
        (
            (-1543, -324, -1867),
            [("broadband", -958), ("device", -106), ("video", -479)],
        )
    ]
    assert ledger(database_url, sub["account_id"]) == {
        "receivable": (5264, 1867),
        "revenue:broadband": (958, 2700),
        "revenue:video": (479, 1350),
        "revenue:device": (106, 300),
        "tax:ES-standard": (324, 914),
    }
