"""A rented router across plan changes between a monthly and a yearly plan, through real bill runs:
the rental continues on the new plan's grid from the last day billed on the old one, no day billed
twice and none skipped, both directions, the change made before and after the first run.

Monthly plan: 12.00/month renting the router at 3.00/month; yearly plan: 120.00/year renting it at
36.00/year. Subscriptions start on 1 January 2025, bill day 1 (2025 has 365 days)."""

from __future__ import annotations

import pytest

from tests.support.billing_runs import bill, change_plan
from tests.support.demo_billing import rentals, renting_plans, subscribe
from tests.support.subscription_support import Stack

pytestmark = pytest.mark.calendar


async def test_monthly_to_yearly_continues_the_rental_on_the_yearly_grid(
    stack: Stack, database_url: str
) -> None:
    # after the first runs: March is billed on the monthly grid, the yearly rental picks up on 1 April
    tenant, monthly, yearly = await renting_plans(stack, database_url)
    sub = await subscribe(stack, tenant, "2025-01-01", {"items": [{"plan": monthly}]})
    for day in ("2025-01-01", "2025-02-01", "2025-03-01"):
        await bill(stack, tenant, 1, day)
    await change_plan(stack, tenant, sub, yearly, effective_date="2025-03-20", timing="immediate")
    for day in ("2025-04-01", "2025-05-01", "2026-01-01"):
        await bill(stack, tenant, 1, day)
    assert rentals(database_url, sub) == [
        ("2025-01-01", "2025-02-01", 300),
        ("2025-02-01", "2025-03-01", 300),
        ("2025-03-01", "2025-04-01", 300),
        ("2025-04-01", "2026-01-01", 2712),  # 275/365 of 36.00 = 27.123
        ("2026-01-01", "2027-01-01", 3600),
    ]

    # before the first run: March on the monthly grid up to the change, the yearly rental from it
    tenant, monthly, yearly = await renting_plans(stack, database_url)
    sub = await subscribe(stack, tenant, "2025-01-01", {"items": [{"plan": monthly}]})
    await change_plan(stack, tenant, sub, yearly, effective_date="2025-03-20", timing="immediate")
    for day in ("2025-04-01", "2026-01-01"):
        await bill(stack, tenant, 1, day)
    assert rentals(database_url, sub) == [
        ("2025-01-01", "2025-02-01", 300),
        ("2025-02-01", "2025-03-01", 300),
        ("2025-03-01", "2025-03-20", 184),  # 19/31 of 3.00 = 1.8387
        ("2025-03-20", "2026-01-01", 2831),  # 287/365 of 36.00 = 28.307
        ("2026-01-01", "2027-01-01", 3600),
    ]


async def test_yearly_to_monthly_continues_the_rental_on_the_monthly_grid(
    stack: Stack, database_url: str
) -> None:
    # after the first run: 2025 is billed on the yearly grid, the monthly rental picks up in 2026
    tenant, monthly, yearly = await renting_plans(stack, database_url)
    sub = await subscribe(stack, tenant, "2025-01-01", {"items": [{"plan": yearly}]})
    await bill(stack, tenant, 1, "2025-01-01")
    await change_plan(stack, tenant, sub, monthly, effective_date="2025-06-15", timing="immediate")
    for day in ("2025-07-01", "2025-08-01", "2026-01-01", "2026-02-01"):
        await bill(stack, tenant, 1, day)
    assert rentals(database_url, sub) == [
        ("2025-01-01", "2026-01-01", 3600),
        ("2026-01-01", "2026-02-01", 300),
        ("2026-02-01", "2026-03-01", 300),
    ]

    # before the first run: the yearly rental up to the change, the monthly rental from it
    tenant, monthly, yearly = await renting_plans(stack, database_url)
    sub = await subscribe(stack, tenant, "2025-01-01", {"items": [{"plan": yearly}]})
    await change_plan(stack, tenant, sub, monthly, effective_date="2025-06-15", timing="immediate")
    for day in ("2025-07-01", "2025-08-01"):
        await bill(stack, tenant, 1, day)
    assert rentals(database_url, sub) == [
        ("2025-01-01", "2025-06-15", 1627),  # 165/365 of 36.00 = 16.274
        ("2025-06-15", "2025-07-01", 160),  # 16/30 of 3.00
        ("2025-07-01", "2025-08-01", 300),
        ("2025-08-01", "2025-09-01", 300),
    ]
