"""A bill run rates the usage still waiting (nothing else schedules rating) and invoices it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from activities.usage.ingestion import ingest
from models.base import engine_for, unit_of_work
from tests.support.billing_runs import bill, subscribe
from tests.support.factories import make_operator
from tests.support.subscription_support import Stack
from tests.support.usage_factory import event, voice_plan_in_arrears

CALLED_AT = datetime(2026, 2, 10, 10, 0, tzinfo=UTC)


async def test_the_bill_run_rates_accepted_calls_before_invoicing(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    code = await voice_plan_in_arrears(stack.api, tenant)
    sub = await subscribe(stack, tenant, code, "2026-01-01", 1)
    sub_id = sub["subscription_id"]
    calls = [event(sub_id, 130, CALLED_AT - timedelta(hours=h), destination="911000000") for h in range(3)]
    with unit_of_work(database_url) as session:
        report = ingest(session, tenant.organisation_id, calls, now=CALLED_AT + timedelta(days=2))
    assert report.accepted == 3  # accepted, not rated: no rating run is asked for
    await bill(stack, tenant, 1, "2026-03-01")
    with engine_for(database_url).connect() as conn:
        usage = conn.execute(
            sa.text(
                "select l.amount_minor, l.quantity from invoice_lines l "
                "join invoices i on i.id = l.invoice_id where i.account_id = :a and l.kind = 'usage'"
            ),
            {"a": sub["account_id"]},
        ).all()
        events = conn.execute(
            sa.text("select distinct status from usage_events where subscription_id = :s"), {"s": sub_id}
        ).all()
    # three CGRateS calls of 130 s in February: 3 x 0.7167 = 2.1501, rounded once to 2.15
    assert [tuple(r) for r in usage] == [(215, "390")]
    assert [tuple(r) for r in events] == [("rated",)]
