"""Real bill runs through the API on a running stack: a backdated subscription, a bill run waited for,
a change or an action on a subscription, and what an account was billed, credited and owes.

Also the catalogue of the change scenarios: a monthly plan of 31.00 (``cheap``), one of 62.00 (``dear``)
and a 6.20 add-on allowed on both; 31.00 on day 1 costs 1.00 a day in the 31-day months (Jan, Mar)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from models.base import engine_for
from tests.support.catalog_factory import plan, post, product
from tests.support.factories import Tenant, make_operator, person
from tests.support.subscription_support import Stack, wait_process

Line = tuple[str | None, str | None, int]  # (period start, period end, amount)


async def subscribe(
    stack: Stack, tenant: Tenant, plan_code: str, start: str, bill_day: int, **account: Any
) -> dict[str, Any]:
    """A new account (``person(**account)``) subscribed to ``plan_code`` from ``start``, once started."""
    acc = await post(stack.api, tenant, "/v1/accounts", person(**account))
    resp = await stack.api.post(
        "/v1/subscriptions",
        headers=tenant.post_headers(),
        json={
            "account_id": acc["id"],
            "items": [{"plan": plan_code}],
            "start_date": start,
            "bill_day": bill_day,
        },
    )
    assert resp.status_code == 202, resp.text
    await wait_process(stack.api, tenant, resp.json()["process_id"])
    return {"account_id": acc["id"], "subscription_id": resp.json()["subscription_id"]}


async def bill(stack: Stack, tenant: Tenant, bill_day: int, period_date: str, **extra: Any) -> dict[str, Any]:
    """A bill run, waited for; returns the run as the API reads it."""
    resp = await stack.api.post(
        "/v1/billing-runs",
        headers=tenant.post_headers(),
        json={"bill_day": bill_day, "period_date": period_date, **extra},
    )
    assert resp.status_code == 202, resp.text
    await wait_process(stack.api, tenant, resp.json()["process_id"])
    run = await stack.api.get(f"/v1/billing-runs/{resp.json()['id']}", headers=tenant.auth)
    return dict(run.json())


async def post_process(stack: Stack, tenant: Tenant, path: str, body: dict[str, Any]) -> None:
    resp = await stack.api.post(path, headers=tenant.post_headers(), json=body)
    assert resp.status_code == 202, resp.text
    await wait_process(stack.api, tenant, resp.json()["process_id"])


async def change(stack: Stack, tenant: Tenant, sub: dict[str, Any], **body: Any) -> None:
    await post_process(stack, tenant, f"/v1/subscriptions/{sub['subscription_id']}/changes", body)


async def change_plan(stack: Stack, tenant: Tenant, sub: dict[str, Any], code: str, **body: Any) -> None:
    """A PlanChange of ``sub`` to the plan ``code``, waited for."""
    await change(stack, tenant, sub, type="change_plan", plan=code, **body)


async def action(stack: Stack, tenant: Tenant, sub: dict[str, Any], name: str, **body: Any) -> None:
    await post_process(stack, tenant, f"/v1/subscriptions/{sub['subscription_id']}/{name}", body)


def billed(database_url: str, sub: dict[str, Any]) -> tuple[list[Line], list[int]]:
    """Every invoice line of the account (by invoice number and position), and its credit notes' totals."""
    with engine_for(database_url).connect() as conn:
        lines = conn.execute(
            sa.text(
                "select l.period_start::text, l.period_end::text, l.amount_minor from invoices i "
                "join invoice_lines l on l.invoice_id = i.id where i.account_id = :a "
                "order by i.number, l.position"
            ),
            {"a": sub["account_id"]},
        ).all()
        notes = conn.execute(
            sa.text("select total_minor from credit_notes where account_id = :a order by number"),
            {"a": sub["account_id"]},
        ).scalars()
        return [tuple(r) for r in lines], list(notes)  # type: ignore[misc]


def owed(database_url: str, sub: dict[str, Any]) -> int:
    """The account's receivable balance in the ledger."""
    with engine_for(database_url).connect() as conn:
        return int(
            conn.execute(
                sa.text(
                    "select coalesce(sum(debit_minor) - sum(credit_minor), 0) from ledger_postings "
                    "where ledger_account = 'receivable' and customer_id = :a"
                ),
                {"a": sub["account_id"]},
            ).scalar_one()
        )


async def plans(stack: Stack, tenant: Tenant) -> dict[str, str]:
    """The change scenarios' plans: ``cheap`` (31.00), ``dear`` (62.00) and the ``addon`` (6.20)."""
    tv = await product(stack.api, tenant, "video")
    addon = await plan(stack.api, tenant, product_code=tv, role="addon", prices={"EUR": "6.20"})
    net = await product(stack.api, tenant, "broadband")
    rules = [{"plan_code": addon, "rule": "allowed"}]
    cheap = await plan(stack.api, tenant, product_code=net, prices={"EUR": "31.00"}, addons=rules)
    dear = await plan(stack.api, tenant, product_code=net, prices={"EUR": "62.00"}, addons=rules)
    return {"addon": addon, "cheap": cheap, "dear": dear}


async def on_the_cheap_plan(stack: Stack, database_url: str) -> tuple[Tenant, dict[str, str], dict[str, Any]]:
    """A new operator with the scenarios' ``plans``, and a subscription to ``cheap`` from 2024-01-01,
    billed on day 1."""
    tenant = make_operator(database_url)
    codes = await plans(stack, tenant)
    sub = await subscribe(stack, tenant, codes["cheap"], "2024-01-01", 1)
    return tenant, codes, sub
