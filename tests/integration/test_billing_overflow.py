"""A bill run refuses an account whose invoice cannot be stored (an amount beyond PostgreSQL's bigint):
the page reports it failed with ``amount_too_large`` and writes nothing for it, and bills the page's
other accounts. Catalogue prices reach 10^13 major units and quantities 1,000 per item, so ten items of
9,999,999,999,999.99 EUR x 1,000 (about 10^20 minor units) exceed 2^63 - 1."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from models.base import engine_for
from tests.support.billing_runs import bill
from tests.support.catalog_factory import plan
from tests.support.demo_billing import subscribe
from tests.support.factories import make_operator
from tests.support.subscription_support import Stack

pytestmark = pytest.mark.calendar


def billed(database_url: str, account_id: str) -> tuple[list[int], int]:
    """The account's invoice totals and its rows guarding billed periods."""
    with engine_for(database_url).connect() as conn:
        totals = conn.execute(
            sa.text("select total_minor from invoices where account_id = :a"), {"a": account_id}
        ).scalars()
        periods = conn.execute(
            sa.text(
                "select count(*) from billed_periods p join subscriptions s on s.id = p.subscription_id "
                "where s.account_id = :a"
            ),
            {"a": account_id},
        ).scalar_one()
        return list(totals), int(periods)


async def test_an_account_too_large_to_store_fails_alone(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    huge = await plan(stack.api, tenant, prices={"EUR": "9999999999999.99"})
    normal = await plan(stack.api, tenant, prices={"EUR": "12.00"})
    big = await subscribe(
        stack, tenant, "2025-01-01", {"items": [{"plan": huge, "quantity": 1000} for _ in range(10)]}
    )
    small = await subscribe(stack, tenant, "2025-01-01", {"items": [{"plan": normal}]})
    run = await bill(stack, tenant, 1, "2025-01-01")
    assert run["status"] != "failed", run
    assert [(f["account_id"], f["reason"].split(":")[0]) for f in run["failures"]] == [
        (big["account_id"], "amount_too_large")
    ]
    assert run["counts"]["invoices"] == 1
    assert billed(database_url, big["account_id"]) == ([], 0)
    assert billed(database_url, small["account_id"])[0] == [1200]
