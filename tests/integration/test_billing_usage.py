"""Rated usage reaches the invoice in arrears: one line per metric and destination, rounded once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from models.base import engine_for
from tests.support.billing_runs import bill, subscribe
from tests.support.factories import make_operator
from tests.support.subscription_support import Stack
from tests.support.usage_factory import event, ingest, rate, voice_plan_in_arrears

pytestmark = pytest.mark.calendar


# calls are accepted up to 400 days back from now, so this test fixes its now (and its dates)
@pytest.mark.today("2024-03-15T10:00:00+00:00")
async def test_calls_are_invoiced_once_with_the_period(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    code = await voice_plan_in_arrears(stack.api, tenant)
    sub = await subscribe(stack, tenant, code, "2024-01-01", 1)
    sub_id = sub["subscription_id"]
    at = datetime(2024, 3, 14, 10, tzinfo=UTC)
    calls = [event(sub_id, 130, at - timedelta(hours=h), destination="+34911000000") for h in range(3)]
    stored = await ingest(stack.api, tenant, calls)
    assert stored["accepted"] == 3
    await rate(stack.api, tenant)
    await bill(stack, tenant, 1, "2024-04-01")  # in arrears: March, with its calls
    with engine_for(database_url).connect() as conn:
        usage = conn.execute(
            sa.text(
                "select l.amount_minor, l.unit_price, l.quantity from invoice_lines l "
                "join invoices i on i.id = l.invoice_id where i.account_id = :a and l.kind = 'usage'"
            ),
            {"a": sub["account_id"]},
        ).all()
        statuses = (
            conn.execute(
                sa.text("select distinct status from rated_usage where subscription_id = :s"), {"s": sub_id}
            )
            .scalars()
            .all()
        )
    # three CGRateS calls of 130 s: 3 x 0.7167 = 2.1501, rounded once to 2.15
    assert [(r.amount_minor, r.unit_price, r.quantity) for r in usage] == [(215, "2.1501000000", "390")]
    assert statuses == ["invoiced"]
