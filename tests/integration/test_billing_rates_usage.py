"""A bill run rates the usage still waiting (nothing else schedules rating) and invoices it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from activities.usage import ingest
from models.base import engine_for, unit_of_work
from runtime.settings import Settings
from tests.catalog_factory import post, product
from tests.factories import make_operator, person
from tests.subscription_support import Stack, running_stack, wait_process
from tests.usage_factory import CGRATES, event, voice_charge

CALLED_AT = datetime(2026, 2, 10, 10, 0, tzinfo=UTC)


@pytest.fixture
async def stack(settings: Settings, dev_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with running_stack(settings, dev_env.client) as running:
        yield running


async def test_the_bill_run_rates_accepted_calls_before_invoicing(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    phone = await product(stack.api, tenant, "telephony")
    plan = await post(
        stack.api,
        tenant,
        "/v1/catalog/plans",
        {
            "code": f"voice-{tenant.organisation_id[-6:].lower()}",
            "name": "Voice",
            "product_code": phone,
            "effective_from": "2000-01-01",
            "billing_term": "in_arrears",
            "phases": [{"kind": "evergreen", "prices": {"EUR": "5.00"}}],
            "usage": [voice_charge(call=CGRATES)],
        },
    )
    account = await post(stack.api, tenant, "/v1/accounts", person())
    started = await stack.api.post(
        "/v1/subscriptions",
        headers=tenant.post_headers(),
        json={
            "account_id": account["id"],
            "items": [{"plan": plan["code"]}],
            "start_date": "2026-01-01",
            "bill_day": 1,
        },
    )
    await wait_process(stack.api, tenant, started.json()["process_id"])
    sub_id = started.json()["subscription_id"]
    calls = [event(sub_id, 130, CALLED_AT - timedelta(hours=h), destination="911000000") for h in range(3)]
    with unit_of_work(database_url) as session:
        report = ingest(session, tenant.organisation_id, calls, now=CALLED_AT + timedelta(days=2))
    assert report.accepted == 3  # accepted, not rated: no rating run is asked for
    run = await stack.api.post(
        "/v1/billing-runs",
        headers=tenant.post_headers(),
        json={"bill_day": 1, "period_date": "2026-03-01"},
    )
    assert run.status_code == 202, run.text
    await wait_process(stack.api, tenant, run.json()["process_id"])
    with engine_for(database_url).connect() as conn:
        usage = conn.execute(
            sa.text(
                "select l.amount_minor, l.quantity from invoice_lines l "
                "join invoices i on i.id = l.invoice_id where i.account_id = :a and l.kind = 'usage'"
            ),
            {"a": account["id"]},
        ).all()
        events = conn.execute(
            sa.text("select distinct status from usage_events where subscription_id = :s"), {"s": sub_id}
        ).all()
    # three CGRateS calls of 130 s in February: 3 x 0.7167 = 2.1501, rounded once to 2.15
    assert [tuple(r) for r in usage] == [(215, "390")]
    assert [tuple(r) for r in events] == [("rated",)]
