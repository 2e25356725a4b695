"""Plan changes between a monthly and a yearly plan, through real bill runs: each service is billed on
its own grid, nothing twice, whichever order the database stores the line's services in and whether
the change came before or after the runs that bill the periods it touches.

Each scenario bills two subscriptions side by side: in one the old service's row is stored first, in
the other the new one's (a row rewritten by an UPDATE moves to the end of the table)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from models.base import engine_for
from tests.support.billing_runs import bill, billed, change, subscribe
from tests.support.catalog_factory import plan, product
from tests.support.factories import Tenant, make_operator
from tests.support.subscription_support import Stack

MONTHLY = "12.00"  # per month
YEARLY = "120.00"  # per year


async def plans(stack: Stack, tenant: Tenant) -> tuple[str, str]:
    net = await product(stack.api, tenant, "broadband")
    monthly = await plan(stack.api, tenant, product_code=net, prices={"EUR": MONTHLY})
    yearly = await plan(stack.api, tenant, product_code=net, prices={"EUR": YEARLY}, billing_period="year")
    return monthly, yearly


REFILL = {  # the old row is the one replaced (false sorts before true)
    "old": "insert into subscription_services select * from keep order by replaced_by is null",
    "new": "insert into subscription_services select * from keep order by replaced_by is not null",
}


def store_first(database_url: str, sub: dict[str, Any], which: str) -> None:
    """Store the subscription's service rows again so that a query without ORDER BY returns ``which``
    ("old" or "new") first. Where a row lands depends on the table's free space, so this rewrites them
    (in either insertion order) until they are stored as asked."""
    params = {"s": sub["subscription_id"]}
    wanted = [True, False] if which == "old" else [False, True]  # is it the replaced (old) row?
    stored: list[bool] = []
    for attempt in range(40):
        with engine_for(database_url).begin() as conn:
            conn.execute(
                sa.text(
                    "create temp table keep on commit drop as "
                    "select * from subscription_services where subscription_id = :s"
                ),
                params,
            )
            conn.execute(sa.text("delete from subscription_services where subscription_id = :s"), params)
            order = which if attempt % 2 == 0 else ("new" if which == "old" else "old")
            conn.execute(sa.text(REFILL[order]))
        with engine_for(database_url).connect() as conn:
            stored = list(
                conn.execute(
                    sa.text(
                        "select replaced_by is not null from subscription_services where subscription_id = :s"
                    ),
                    params,
                ).scalars()
            )
        if stored == wanted:
            return
    raise AssertionError(f"could not store the {which} service first: {stored}")


async def change_each(
    stack: Stack, database_url: str, tenant: Tenant, subs: list[dict[str, Any]], code: str, **body: Any
) -> None:
    """Change each of ``two_subscriptions`` to plan ``code``, then store the old service's row first in
    the one and the new one's first in the other."""
    for sub, first in zip(subs, ("old", "new"), strict=True):
        await change(stack, tenant, sub, type="change_plan", plan=code, **body)
        store_first(database_url, sub, first)


async def two_subscriptions(stack: Stack, tenant: Tenant, code: str) -> list[dict[str, Any]]:
    return [await subscribe(stack, tenant, code, "2024-01-07", 7) for _ in range(2)]


async def test_monthly_to_yearly_after_the_first_runs(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    monthly, yearly = await plans(stack, tenant)
    subs = await two_subscriptions(stack, tenant, monthly)
    for day in ("2024-01-07", "2024-02-07", "2024-03-07"):
        await bill(stack, tenant, 7, day)
    await change_each(
        stack, database_url, tenant, subs, yearly, effective_date="2024-03-20", timing="immediate"
    )
    for day in ("2024-04-07", "2024-05-07", "2024-06-07", "2025-01-07", "2025-02-07"):
        await bill(stack, tenant, 7, day)
    for sub in subs:
        assert billed(database_url, sub) == (
            [
                ("2024-01-07", "2024-02-07", 1200),
                ("2024-02-07", "2024-03-07", 1200),
                ("2024-03-07", "2024-04-07", 1200),
                ("2024-01-07", "2025-01-07", 9607),  # the change: the yearly plan's last 293/366
                ("2025-01-07", "2026-01-07", 12000),
            ],
            [-697],  # the monthly plan's unused 18/31 of March
        )


async def test_monthly_to_yearly_before_the_first_run(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    monthly, yearly = await plans(stack, tenant)
    subs = await two_subscriptions(stack, tenant, monthly)
    await change_each(
        stack, database_url, tenant, subs, yearly, effective_date="2024-03-20", timing="immediate"
    )
    for day in ("2024-04-07", "2024-05-07", "2025-01-07"):
        await bill(stack, tenant, 7, day)
    for sub in subs:
        lines, notes = billed(database_url, sub)
        assert sorted(lines) == [
            ("2024-01-07", "2024-02-07", 1200),
            ("2024-01-07", "2025-01-07", 9607),
            ("2024-02-07", "2024-03-07", 1200),
            ("2024-03-07", "2024-04-07", 1200),
            ("2025-01-07", "2026-01-07", 12000),
        ]
        assert notes == [-697]


async def test_yearly_to_monthly_at_the_end_of_the_year(stack: Stack, database_url: str) -> None:
    """The downgrade is made before the run of the year's end: the old plan's next year is neither
    billed nor credited (the old service ends on its first day), the monthly plan billed month by month."""
    tenant = make_operator(database_url)
    monthly, yearly = await plans(stack, tenant)
    subs = await two_subscriptions(stack, tenant, yearly)
    await bill(stack, tenant, 7, "2024-01-07")
    await change_each(
        stack, database_url, tenant, subs, monthly, effective_date="2024-06-01", timing="end_of_term"
    )
    for day in ("2024-02-07", "2024-07-07", "2025-01-07", "2025-02-07", "2025-03-07"):
        await bill(stack, tenant, 7, day)
    for sub in subs:
        lines, notes = billed(database_url, sub)
        assert sorted(lines) == [
            ("2024-01-07", "2025-01-07", 12000),
            ("2025-01-07", "2025-02-07", 1200),  # the change's charge for the first month
            ("2025-02-07", "2025-03-07", 1200),
            ("2025-03-07", "2025-04-07", 1200),
        ]
        assert notes == []
        assert sum(a for *_, a in lines) + sum(notes) == 12000 + 3 * 1200


async def test_yearly_to_monthly_after_the_year_end_run(stack: Stack, database_url: str) -> None:
    """The run of the year's end bills the next year before the downgrade lands: the change credits it."""
    tenant = make_operator(database_url)
    monthly, yearly = await plans(stack, tenant)
    subs = await two_subscriptions(stack, tenant, yearly)
    for day in ("2024-01-07", "2025-01-07"):
        await bill(stack, tenant, 7, day)
    await change_each(
        stack, database_url, tenant, subs, monthly, effective_date="2024-06-01", timing="end_of_term"
    )
    for day in ("2025-02-07", "2025-03-07"):
        await bill(stack, tenant, 7, day)
    for sub in subs:
        lines, notes = billed(database_url, sub)
        assert sorted(lines) == [
            ("2024-01-07", "2025-01-07", 12000),
            ("2025-01-07", "2025-02-07", 1200),
            ("2025-01-07", "2026-01-07", 12000),
            ("2025-02-07", "2025-03-07", 1200),
            ("2025-03-07", "2025-04-07", 1200),
        ]
        assert notes == [-12000]
