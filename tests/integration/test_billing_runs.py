"""Real bill runs on backdated subscriptions: the shared scenarios exact to the cent, idempotent runs,
a DST-crossing year, dry runs and bad input."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from temporalio.client import ScheduleActionStartWorkflow

from models.base import engine_for
from tests.support.billing_runs import bill, subscribe
from tests.support.catalog_factory import plan, post, product
from tests.support.eventually import eventually_async
from tests.support.factories import make_operator
from tests.support.subscription_support import Stack, wait_process
from workflows.common import ORGANISATION_PATH

pytestmark = pytest.mark.calendar


def invoice_lines(database_url: str, account_id: str) -> list[tuple[str, str, str, int]]:
    with engine_for(database_url).connect() as conn:
        rows = conn.execute(
            sa.text(
                "select i.number, l.period_start::text, l.period_end::text, l.amount_minor from invoices i "
                "join invoice_lines l on l.invoice_id = i.id where i.account_id = :a "
                "order by i.number, l.position"
            ),
            {"a": account_id},
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_kill_bill_bcd_31_through_a_real_bill_run(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    code = await plan(stack.api, tenant, prices={"USD": "599.95"})
    sub = await subscribe(stack, tenant, code, "2012-03-02", 31, currency="USD", timezone="America/New_York")
    run = await bill(stack, tenant, 31, "2012-03-31")
    assert run["status"] == "completed" and run["counts"]["invoices"] >= 1
    lines = invoice_lines(database_url, sub["account_id"])
    assert [(start, end, amount) for _, start, end, amount in lines] == [
        ("2012-03-02", "2012-03-31", 56124),
        ("2012-03-31", "2012-04-30", 59995),
    ]
    again = await bill(stack, tenant, 31, "2012-03-31")
    assert again["counts"]["invoices"] == 0
    assert invoice_lines(database_url, sub["account_id"]) == lines


async def test_lago_upgrade_in_arrears_through_a_real_bill_run(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    net = await product(stack.api, tenant, "broadband")
    old = await plan(stack.api, tenant, product_code=net, prices={"EUR": "100"}, billing_term="in_arrears")
    new = await plan(stack.api, tenant, product_code=net, prices={"EUR": "200"}, billing_term="in_arrears")
    sub = await subscribe(stack, tenant, old, "2025-01-01", 1)
    change = await stack.api.post(
        f"/v1/subscriptions/{sub['subscription_id']}/changes",
        headers=tenant.post_headers(),
        json={"type": "change_plan", "plan": new, "effective_date": "2025-01-15", "timing": "immediate"},
    )
    assert change.status_code == 202, change.text
    await wait_process(stack.api, tenant, change.json()["process_id"])
    await bill(stack, tenant, 1, "2025-02-01")
    assert [(s, e, a) for _, s, e, a in invoice_lines(database_url, sub["account_id"])] == [
        ("2025-01-01", "2025-01-15", 4516),
        ("2025-01-15", "2025-02-01", 10968),
    ]


async def test_a_dst_crossing_year_in_new_york(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    code = await plan(stack.api, tenant, prices={"USD": "30.00"})
    sub = await subscribe(stack, tenant, code, "2024-01-10", 10, currency="USD", timezone="America/New_York")
    run = await bill(stack, tenant, 10, "2024-12-10")
    lines = invoice_lines(database_url, sub["account_id"])
    assert [s for _, s, _, _ in lines] == [f"2024-{m:02d}-10" for m in range(1, 13)]
    assert {a for *_, a in lines} == {3000}
    assert run["amounts"]["USD"] >= 36000


async def test_pending_charges_tax_ledger_and_dry_run(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    await post(
        stack.api,
        tenant,
        "/v1/catalog/tax-rates",
        {"country": "ES", "category": "standard", "percent": "21", "name": "IVA"},
    )
    fee = [{"code": "setup", "name": "Setup", "prices": {"EUR": "20.00"}}]
    code = await plan(stack.api, tenant, prices={"EUR": "30.00"}, one_off_fees=fee)
    sub = await subscribe(stack, tenant, code, "2024-06-01", 1)
    preview = await bill(stack, tenant, 1, "2024-06-01", dry_run=True)
    assert preview["status"] == "preview" and preview["amounts"] == {"EUR": 6050}
    assert invoice_lines(database_url, sub["account_id"]) == []
    await bill(stack, tenant, 1, "2024-06-01")
    lines = invoice_lines(database_url, sub["account_id"])
    assert sorted(a for *_, a in lines) == [2000, 3000]
    with engine_for(database_url).connect() as conn:
        invoice = conn.execute(
            sa.text("select total_minor, tax_minor, number from invoices where account_id=:a"),
            {"a": sub["account_id"]},
        ).one()
        ledger = conn.execute(
            sa.text(
                "select p.ledger_account, p.debit_minor, p.credit_minor from ledger_postings p "
                "join ledger_entries e on e.id = p.entry_id where e.account_id = :a order by p.ledger_account"
            ),
            {"a": sub["account_id"]},
        ).all()
        status = conn.execute(
            sa.text("select status from pending_charges where account_id=:a"), {"a": sub["account_id"]}
        ).scalar_one()
    assert (invoice.total_minor, invoice.tax_minor) == (6050, 1050)
    assert invoice.number.startswith("INV-")
    assert [tuple(r) for r in ledger] == [
        ("receivable", 6050, 0),
        ("revenue:broadband", 0, 5000),
        ("tax:ES-standard", 0, 1050),
    ]
    assert status == "invoiced"


async def test_bad_runs_are_refused(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    unknown = await stack.api.post("/v1/billing-runs", headers=tenant.post_headers(), json={"bill_day": 30})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_cycle"
    future = await stack.api.post(
        "/v1/billing-runs", headers=tenant.post_headers(), json={"bill_day": 1, "period_date": "2999-01-01"}
    )
    assert future.status_code == 422 and future.json()["code"] == "period_too_far"
    other = make_operator(database_url)
    run = await bill(stack, tenant, 5, "2020-01-05")
    assert (await stack.api.get(f"/v1/billing-runs/{run['id']}", headers=other.auth)).status_code == 404


@pytest.mark.today("2024-03-05T06:00:00+00:00")  # a scheduled run bills up to today
async def test_a_schedule_per_cycle_starts_bill_runs(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    code = await plan(stack.api, tenant, prices={"EUR": "12.00"})
    sub = await subscribe(stack, tenant, code, "2024-02-05", 5)
    made = await stack.api.post("/v1/billing-runs/schedules", headers=tenant.post_headers())
    assert made.status_code == 200, made.text
    schedules = {s["bill_day"]: s for s in made.json()["schedules"]}
    assert sorted(schedules) == [*range(1, 29), 31]
    assert schedules[5]["next_run_at"][8:10] == "05"
    again = await stack.api.post("/v1/billing-runs/schedules", headers=tenant.post_headers())
    assert [s["id"] for s in again.json()["schedules"]] == [s["id"] for s in made.json()["schedules"]]
    handle = stack.client.get_schedule_handle(schedules[5]["id"])
    action = (await handle.describe()).schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)  # its runs are listed in the operator's subtree
    assert action.typed_search_attributes.get(ORGANISATION_PATH) == f"/{tenant.organisation_id}/"
    await handle.trigger()
    await eventually_async(
        lambda: asyncio.to_thread(invoice_lines, database_url, sub["account_id"]),
        until=lambda lines: len(lines) >= 2,
        timeout=15,
        what="the scheduled run's second invoice",
    )
    assert [line[1:] for line in invoice_lines(database_url, sub["account_id"])] == [
        ("2024-02-05", "2024-03-05", 1200),
        ("2024-03-05", "2024-04-05", 1200),
    ]
    for cycle in schedules:
        await stack.client.get_schedule_handle(schedules[cycle]["id"]).delete()


async def test_change_credits_become_a_credit_note(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    net = await product(stack.api, tenant, "broadband")
    cheap = await plan(stack.api, tenant, product_code=net, prices={"EUR": "31.00"})
    dear = await plan(stack.api, tenant, product_code=net, prices={"EUR": "62.00"})
    sub = await subscribe(stack, tenant, cheap, "2024-01-01", 1)
    await bill(stack, tenant, 1, "2024-01-01")
    change = await stack.api.post(
        f"/v1/subscriptions/{sub['subscription_id']}/changes",
        headers=tenant.post_headers(),
        json={"type": "change_plan", "plan": dear, "effective_date": "2024-01-11"},
    )
    await wait_process(stack.api, tenant, change.json()["process_id"])
    run = await bill(stack, tenant, 1, "2024-02-01")
    assert run["counts"]["credit_notes"] == 1
    # February at the new price, and the charge for the new plan's remaining January days
    assert sorted(a for *_, a in invoice_lines(database_url, sub["account_id"])[1:]) == [4200, 6200]
    with engine_for(database_url).connect() as conn:
        note = conn.execute(
            sa.text("select number, total_minor, reason from credit_notes where account_id = :a"),
            {"a": sub["account_id"]},
        ).one()
        owed = conn.execute(
            sa.text(
                "select sum(p.debit_minor) - sum(p.credit_minor) from ledger_postings p "
                "where p.ledger_account = 'receivable' and p.customer_id = :a"
            ),
            {"a": sub["account_id"]},
        ).scalar_one()
    assert note.number.startswith("CN-") and note.total_minor == -2100 and note.reason == "proration"
    assert owed == 3100 + 6200 + 4200 - 2100


async def test_plans_can_invoice_at_activation(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    fee = [{"code": "setup", "name": "Setup", "prices": {"EUR": "25.00"}}]
    code = await plan(
        stack.api, tenant, prices={"EUR": "31.00"}, one_off_fees=fee, invoice_on_activation=True
    )
    sub = await subscribe(stack, tenant, code, "2024-03-10", 10)
    assert sorted(a for *_, a in invoice_lines(database_url, sub["account_id"])) == [2500, 3100]
    run = await bill(stack, tenant, 10, "2024-03-10")  # the next run finds it billed already
    assert run["counts"]["invoices"] == 0
    with engine_for(database_url).connect() as conn:
        status = conn.execute(
            sa.text("select status from pending_charges where subscription_id = :s"),
            {"s": sub["subscription_id"]},
        ).scalar_one()
    assert status == "invoiced"


@pytest.mark.today("2024-03-12T10:00:00+00:00")  # regret is judged against today: two days after the start
async def test_regret_refunds_everything_billed_with_credit_notes(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    fee = [{"code": "setup", "name": "Setup", "prices": {"EUR": "25.00"}}]
    code = await plan(
        stack.api, tenant, prices={"EUR": "31.00"}, one_off_fees=fee, invoice_on_activation=True
    )
    sub = await subscribe(stack, tenant, code, "2024-03-10", 10)
    lines = invoice_lines(database_url, sub["account_id"])
    assert sorted(a for *_, a in lines) == [2500, 3100]
    assert ("2024-03-10", "2024-04-10", 3100) in [(s, e, a) for _, s, e, a in lines]  # a whole first period
    regret = await stack.api.post(
        f"/v1/subscriptions/{sub['subscription_id']}/regret",
        headers=tenant.post_headers(),
        json={"reason": "changed my mind"},
    )
    assert regret.status_code == 202, regret.text
    await wait_process(stack.api, tenant, regret.json()["process_id"])
    with engine_for(database_url).connect() as conn:
        notes = conn.execute(
            sa.text("select total_minor, reason from credit_notes where account_id = :a"),
            {"a": sub["account_id"]},
        ).all()
        owed = conn.execute(
            sa.text(
                "select coalesce(sum(debit_minor) - sum(credit_minor), 0) from ledger_postings "
                "where ledger_account = 'receivable' and customer_id = :a"
            ),
            {"a": sub["account_id"]},
        ).scalar_one()
    assert [(n.total_minor, n.reason) for n in notes] == [(-5600, "refund")]
    assert owed == 0
