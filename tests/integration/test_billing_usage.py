"""Rated usage reaches the invoice in arrears: one line per metric and destination, rounded once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from models.base import engine_for
from runtime.settings import Settings
from tests.catalog_factory import post, product
from tests.factories import make_operator, person
from tests.subscription_support import Stack, running_stack, wait_process
from tests.usage_factory import CGRATES, event, ingest, rate, voice_charge


@pytest.fixture
async def stack(settings: Settings, dev_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    async with running_stack(settings, dev_env.client) as running:
        yield running


pytestmark = pytest.mark.calendar


# calls are accepted up to 400 days back from now, so this test fixes its now (and its dates)
@pytest.mark.today("2024-03-15T10:00:00+00:00")
async def test_calls_are_invoiced_once_with_the_period(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    phone = await product(stack.api, tenant, "telephony")
    plan_code = (
        await post(
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
    )["code"]
    account = await post(stack.api, tenant, "/v1/accounts", person())
    start = "2024-01-01"
    started = await stack.api.post(
        "/v1/subscriptions",
        headers=tenant.post_headers(),
        json={
            "account_id": account["id"],
            "items": [{"plan": plan_code}],
            "start_date": start,
            "bill_day": 1,
        },
    )
    await wait_process(stack.api, tenant, started.json()["process_id"])
    sub_id = started.json()["subscription_id"]
    at = datetime(2024, 3, 14, 10, tzinfo=UTC)
    calls = [event(sub_id, 130, at - timedelta(hours=h), destination="+34911000000") for h in range(3)]
    stored = await ingest(stack.api, tenant, calls)
    assert stored["accepted"] == 3
    await rate(stack.api, tenant)
    run = await stack.api.post(
        "/v1/billing-runs",
        headers=tenant.post_headers(),
        json={"bill_day": 1, "period_date": "2024-04-01"},  # in arrears: March, with its calls
    )
    assert run.status_code == 202, run.text
    await wait_process(stack.api, tenant, run.json()["process_id"])
    with engine_for(database_url).connect() as conn:
        usage = conn.execute(
            sa.text(
                "select l.amount_minor, l.unit_price, l.quantity from invoice_lines l "
                "join invoices i on i.id = l.invoice_id where i.account_id = :a and l.kind = 'usage'"
            ),
            {"a": account["id"]},
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
