"""A stop after a plan change between renting plans on different grids credits the rental days actually
billed from the stop on (``billed_charges``), each priced by the plan that billed it: not the new plan's
rental from the change as if the new service had billed it, nor only the new grid's period.

Plans of tests/integration/test_billing_rental_changes.py: monthly 12.00 renting the router at
3.00/month, yearly 120.00 renting it at 36.00/year; subscriptions start on 1 January 2025, bill day 1."""

from __future__ import annotations

import pytest

from tests.support.billing_runs import action, bill, change_plan
from tests.support.demo_billing import pending_credits, renting_plans, subscribe
from tests.support.subscription_support import Stack

pytestmark = pytest.mark.calendar


def rental_credit(database_url: str, sub: dict[str, object]) -> list[int]:
    return [amount for kind, amount in pending_credits(database_url, sub) if kind == "rental_credit"]


async def test_a_stop_before_the_first_yearly_run_credits_the_monthly_days_billed(
    stack: Stack, database_url: str
) -> None:
    # March billed on the monthly grid; changed to yearly on 20 March, stopped on 25 March before the
    # April run: only 25-31 March were billed, 7/31 of 3.00 = 0.6774
    tenant, monthly, yearly = await renting_plans(stack, database_url)
    sub = await subscribe(stack, tenant, "2025-01-01", {"items": [{"plan": monthly}]})
    for day in ("2025-01-01", "2025-02-01", "2025-03-01"):
        await bill(stack, tenant, 1, day)
    await change_plan(stack, tenant, sub, yearly, effective_date="2025-03-20", timing="immediate")
    await action(stack, tenant, sub, "terminate", effective_date="2025-03-25", reason="moving")
    assert rental_credit(database_url, sub) == [-68]


async def test_a_stop_in_the_first_yearly_period_credits_the_yearly_days_billed(
    stack: Stack, database_url: str
) -> None:
    # April to December billed on the yearly grid (27.12); stopped on 10 May: 27.12 less 39/365 of
    # 36.00 (3.8466 -> 3.85) = 23.27
    tenant, monthly, yearly = await renting_plans(stack, database_url)
    sub = await subscribe(stack, tenant, "2025-01-01", {"items": [{"plan": monthly}]})
    for day in ("2025-01-01", "2025-02-01", "2025-03-01"):
        await bill(stack, tenant, 1, day)
    await change_plan(stack, tenant, sub, yearly, effective_date="2025-03-20", timing="immediate")
    for day in ("2025-04-01", "2025-05-01"):
        await bill(stack, tenant, 1, day)
    await action(stack, tenant, sub, "terminate", effective_date="2025-05-10", reason="moving")
    assert rental_credit(database_url, sub) == [-2327]


async def test_a_stop_after_a_change_to_monthly_credits_the_rest_of_the_year_billed(
    stack: Stack, database_url: str
) -> None:
    # 2025 billed on the yearly grid; changed to monthly on 15 June, stopped on 10 July: the days billed
    # from 10 July to the year's end, 36.00 less 190/365 of it (18.7397 -> 18.74) = 17.26
    tenant, monthly, yearly = await renting_plans(stack, database_url)
    sub = await subscribe(stack, tenant, "2025-01-01", {"items": [{"plan": yearly}]})
    await bill(stack, tenant, 1, "2025-01-01")
    await change_plan(stack, tenant, sub, monthly, effective_date="2025-06-15", timing="immediate")
    await bill(stack, tenant, 1, "2025-07-01")
    await action(stack, tenant, sub, "terminate", effective_date="2025-07-10", reason="moving")
    assert rental_credit(database_url, sub) == [-1726]
