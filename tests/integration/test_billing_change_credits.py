"""Changes between bill runs charge and credit each service's period exactly once, through real bill runs:
an add-on's first partial period is billed by its change only, a credit reverses only a period that is
billed, and an upgrade or a paused suspension leaves the runs billing from the next period. Each case
runs with the change made before and after the run of the period it touches where that matters.

A monthly plan of 31.00 on day 1 costs 1.00 a day in the 31-day months used here (Jan, Mar)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.billing_runs import Line, action, bill, change, on_the_cheap_plan, owed
from tests.support.billing_runs import billed as billed_in_order
from tests.support.subscription_support import Stack


def billed(database_url: str, sub: dict[str, Any]) -> tuple[list[Line], list[int]]:
    """Every invoice line (sorted: invoices are compared as a whole), and the credit notes' totals."""
    lines, notes = billed_in_order(database_url, sub)
    return sorted(lines), notes


@pytest.mark.parametrize("first_run_before", [True, False])
async def test_an_addon_added_mid_period_is_billed_for_its_first_days_once(
    stack: Stack, database_url: str, first_run_before: bool
) -> None:
    tenant, codes, sub = await on_the_cheap_plan(stack, database_url)
    if first_run_before:
        await bill(stack, tenant, 1, "2024-01-01")
    await change(stack, tenant, sub, type="add_addon", plan=codes["addon"], effective_date="2024-01-11")
    for day in ("2024-02-01", "2024-03-01"):
        await bill(stack, tenant, 1, day)
    assert billed(database_url, sub) == (
        [
            ("2024-01-01", "2024-02-01", 420),  # the add-on's 21 days of January, charged by the change
            ("2024-01-01", "2024-02-01", 3100),
            ("2024-02-01", "2024-03-01", 620),
            ("2024-02-01", "2024-03-01", 3100),
            ("2024-03-01", "2024-04-01", 620),
            ("2024-03-01", "2024-04-01", 3100),
        ],
        [],
    )
    assert owed(database_url, sub) == 420 + 2 * 620 + 3 * 3100


async def test_an_addon_added_on_a_period_start_is_billed_for_that_period_once(
    stack: Stack, database_url: str
) -> None:
    tenant, codes, sub = await on_the_cheap_plan(stack, database_url)
    await bill(stack, tenant, 1, "2024-01-01")
    await change(stack, tenant, sub, type="add_addon", plan=codes["addon"], effective_date="2024-02-01")
    await bill(stack, tenant, 1, "2024-02-01")
    assert billed(database_url, sub) == (
        [
            ("2024-01-01", "2024-02-01", 3100),
            ("2024-02-01", "2024-03-01", 620),  # charged by the change, not by the run again
            ("2024-02-01", "2024-03-01", 3100),
        ],
        [],
    )


async def test_a_termination_on_a_period_start_before_its_run_credits_nothing(
    stack: Stack, database_url: str
) -> None:
    """February is never billed (the run comes after the termination), so nothing of it is credited."""
    tenant, _, sub = await on_the_cheap_plan(stack, database_url)
    await bill(stack, tenant, 1, "2024-01-01")
    await action(stack, tenant, sub, "terminate", effective_date="2024-02-01", reason="moving")
    await bill(stack, tenant, 1, "2024-02-01")
    await bill(stack, tenant, 1, "2024-03-01")
    assert billed(database_url, sub) == ([("2024-01-01", "2024-02-01", 3100)], [])
    assert owed(database_url, sub) == 3100


async def test_a_termination_on_a_period_start_after_its_run_credits_that_period(
    stack: Stack, database_url: str
) -> None:
    tenant, _, sub = await on_the_cheap_plan(stack, database_url)
    await bill(stack, tenant, 1, "2024-02-01")
    await action(stack, tenant, sub, "terminate", effective_date="2024-02-01", reason="moving")
    await bill(stack, tenant, 1, "2024-03-01")
    assert billed(database_url, sub) == (
        [("2024-01-01", "2024-02-01", 3100), ("2024-02-01", "2024-03-01", 3100)],
        [-3100],
    )
    assert owed(database_url, sub) == 3100


async def test_a_termination_mid_period_credits_the_unused_days_of_what_the_run_bills(
    stack: Stack, database_url: str
) -> None:
    tenant, _, sub = await on_the_cheap_plan(stack, database_url)
    await action(stack, tenant, sub, "terminate", effective_date="2024-01-11", reason="moving")
    await bill(stack, tenant, 1, "2024-02-01")
    assert billed(database_url, sub) == ([("2024-01-01", "2024-02-01", 3100)], [-2100])
    assert owed(database_url, sub) == 1000


@pytest.mark.parametrize("first_run_before", [True, False])
async def test_an_upgrade_mid_period_then_the_runs_bill_the_new_plan_from_the_next_period(
    stack: Stack, database_url: str, first_run_before: bool
) -> None:
    tenant, codes, sub = await on_the_cheap_plan(stack, database_url)
    if first_run_before:
        await bill(stack, tenant, 1, "2024-01-01")
    await change(stack, tenant, sub, type="change_plan", plan=codes["dear"], effective_date="2024-01-11")
    for day in ("2024-02-01", "2024-03-01"):
        await bill(stack, tenant, 1, day)
    assert billed(database_url, sub) == (
        [
            ("2024-01-01", "2024-02-01", 3100),  # the old plan's January, billed by a run
            ("2024-01-01", "2024-02-01", 4200),  # the new plan's 21 days of January, charged by the change
            ("2024-02-01", "2024-03-01", 6200),
            ("2024-03-01", "2024-04-01", 6200),
        ],
        [-2100],  # the old plan's unused 21 days of January
    )
    assert owed(database_url, sub) == 1000 + 4200 + 2 * 6200


async def test_a_paused_suspension_and_resumption_mid_period(stack: Stack, database_url: str) -> None:
    """Suspended Jan 21 (11 days credited), February paused, resumed Mar 11 (21 days charged)."""
    tenant, _, sub = await on_the_cheap_plan(stack, database_url)
    await bill(stack, tenant, 1, "2024-01-01")
    await action(stack, tenant, sub, "suspend", effective_date="2024-01-21", pause_billing=True)
    await bill(stack, tenant, 1, "2024-02-01")
    await action(stack, tenant, sub, "resume", effective_date="2024-03-11")
    for day in ("2024-03-01", "2024-04-01"):
        await bill(stack, tenant, 1, day)
    assert billed(database_url, sub) == (
        [
            ("2024-01-01", "2024-02-01", 3100),
            ("2024-03-01", "2024-04-01", 2100),
            ("2024-04-01", "2024-05-01", 3100),
        ],
        [-1100],
    )
    assert owed(database_url, sub) == 3100 - 1100 + 2100 + 3100


async def test_a_paused_suspension_and_resumption_on_period_starts_before_their_runs(
    stack: Stack, database_url: str
) -> None:
    """Suspended from Feb 1 before February's run (nothing of February billed, so nothing credited),
    resumed on Mar 1 before March's run (March charged once, by the resumption)."""
    tenant, _, sub = await on_the_cheap_plan(stack, database_url)
    await bill(stack, tenant, 1, "2024-01-01")
    await action(stack, tenant, sub, "suspend", effective_date="2024-02-01", pause_billing=True)
    await bill(stack, tenant, 1, "2024-02-01")
    await action(stack, tenant, sub, "resume", effective_date="2024-03-01")
    await bill(stack, tenant, 1, "2024-03-01")
    assert billed(database_url, sub) == (
        [("2024-01-01", "2024-02-01", 3100), ("2024-03-01", "2024-04-01", 3100)],
        [],
    )
    assert owed(database_url, sub) == 2 * 3100
