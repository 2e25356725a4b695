"""Lost subscriptions leave the bill runs once fully billed, and come back when something falls due.

``terminated`` is a billable status: a final period in arrears, a late charge or late usage still fall
due after the end. A run that finds a terminated subscription owing nothing now and unable to owe
anything later (every live day of its services and rentals billed) records its end date in
``fully_billed_to``; later runs pass it by (the account is not even loaded) unless a pending charge or
open rated usage appears for it. Real bill runs through the API on real subscriptions; late charges
and usage are written as the processes that make them would (a pending charge, a rated usage row)."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from activities.billing.bill_run import bill_page
from activities.billing.io import Page, PageResult, RunInput
from domain.ids import new_id
from models.base import engine_for, unit_of_work
from models.subscriptions import PendingCharge
from models.usage import RatedUsage
from tests.support.billing_runs import action, bill
from tests.support.billing_runs import subscribe as subscribe_plan
from tests.support.catalog_factory import plan, product
from tests.support.demo_billing import HOME, seed, subscribe
from tests.support.factories import make_operator
from tests.support.subscription_support import Stack

pytestmark = pytest.mark.calendar


def marker(database_url: str, sub: dict[str, Any]) -> tuple[str, date | None, date | None]:
    with engine_for(database_url).connect() as conn:
        row = conn.execute(
            sa.text("select status, end_date, fully_billed_to from subscriptions where id = :s"),
            {"s": sub["subscription_id"]},
        ).one()
    return row.status, row.end_date, row.fully_billed_to


def invoice_totals(database_url: str, sub: dict[str, Any]) -> list[tuple[str, int]]:
    """Each invoice of the account (by number): its issue date and total."""
    with engine_for(database_url).connect() as conn:
        rows = conn.execute(
            sa.text(
                "select issue_date::text, total_minor from invoices where account_id = :a order by number"
            ),
            {"a": sub["account_id"]},
        ).all()
    return [(r[0], r[1]) for r in rows]


def services_of(database_url: str, sub: dict[str, Any]) -> list[str]:
    with engine_for(database_url).connect() as conn:
        return list(
            conn.execute(
                sa.text("select id from subscription_services where subscription_id = :s order by id"),
                {"s": sub["subscription_id"]},
            ).scalars()
        )


def late_charge(database_url: str, sub: dict[str, Any], amount_minor: int) -> str:
    """A charge a process files after the end (a router never returned, say)."""
    charge_id = new_id("chg")
    with unit_of_work(database_url) as session:
        session.add(
            PendingCharge(
                id=charge_id,
                account_id=sub["account_id"],
                subscription_id=sub["subscription_id"],
                kind="device_not_returned",
                description="router not returned",
                unit_price=str(Decimal(amount_minor) / 100),
                amount_minor=amount_minor,
                currency="EUR",
                idempotency_key=f"test:{charge_id}",
            )
        )
    return charge_id


def late_usage(database_url: str, sub: dict[str, Any], tenant_id: str, start: date, end: date) -> None:
    """A call rated after the end (a CDR file that came in late), open for the next run."""
    with unit_of_work(database_url) as session:
        session.add(
            RatedUsage(
                event_id=random.getrandbits(48),  # no foreign key: a raw month may be dropped
                organisation_id=tenant_id,
                subscription_id=sub["subscription_id"],
                service_id=services_of(database_url, sub)[0],
                metric="voice_seconds",
                destination=None,
                destination_name="late call",
                period_start=start,
                period_end=end,
                quantity=600,
                covered=0,
                charged=600,
                pool="test",
                amount=Decimal("2.5000000000"),
                precision=2,
                currency="EUR",
                tariff="test@1/late",
                rating_run="test-late",
            )
        )


def retry_page(database_url: str, tenant_id: str, run: dict[str, Any], sub: dict[str, Any]) -> PageResult:
    """The run's one page billed again after its commit, as the retry of an attempt whose worker died
    before Temporal recorded the completion (the page ends at the run's only due account)."""
    inputs = RunInput(
        run_id=run["id"],
        organisation_id=tenant_id,
        bill_day=run["bill_day"],
        period_date=date.fromisoformat(run["period_date"]),
    )
    with unit_of_work(database_url) as session:
        return bill_page(session, Page(run=inputs, after=None, until=sub["account_id"]))


async def test_a_lost_subscription_leaves_the_runs_and_a_late_charge_or_late_usage_bring_it_back(
    stack: Stack, database_url: str
) -> None:
    tenant = make_operator(database_url)
    seed(database_url, tenant)
    sub = await subscribe(stack, tenant, "2025-03-01", HOME)  # fibre + TV, router rented
    await bill(stack, tenant, 1, "2025-03-01")
    await action(stack, tenant, sub, "terminate", effective_date="2025-03-21", reason="moving")
    assert marker(database_url, sub) == ("terminated", date(2025, 3, 21), None)

    # The run after the end credits the unused days (a credit note): the subscription owes nothing more.
    credited = await bill(stack, tenant, 1, "2025-04-01")
    assert credited["counts"]["accounts"] == 1 and credited["counts"]["credit_notes"] == 1
    assert marker(database_url, sub) == ("terminated", date(2025, 3, 21), date(2025, 3, 21))
    before = invoice_totals(database_url, sub)

    passed_by = await bill(stack, tenant, 1, "2025-05-01")
    assert passed_by["counts"]["accounts"] == 0  # not loaded at all
    assert invoice_totals(database_url, sub) == before

    # A late charge brings it back for one run, then it leaves again.
    late_charge(database_url, sub, 4000)
    charged = await bill(stack, tenant, 1, "2025-06-01")
    assert charged["counts"]["accounts"] == 1 and charged["counts"]["invoices"] == 1
    assert invoice_totals(database_url, sub) == [*before, ("2025-06-01", 4840)]  # 40.00 + IVA 21%
    assert (await bill(stack, tenant, 1, "2025-07-01"))["counts"]["accounts"] == 0

    # So does usage rated late, for a period before the end.
    late_usage(database_url, sub, tenant.organisation_id, date(2025, 3, 1), date(2025, 4, 1))
    rated = await bill(stack, tenant, 1, "2025-08-01")
    assert rated["counts"]["accounts"] == 1 and rated["counts"]["invoices"] == 1
    assert invoice_totals(database_url, sub)[-1] == ("2025-08-01", 303)  # 2.50 + IVA 21% = 3.025 -> 3.03
    assert (await bill(stack, tenant, 1, "2025-09-01"))["counts"]["accounts"] == 0
    assert marker(database_url, sub) == ("terminated", date(2025, 3, 21), date(2025, 3, 21))


async def test_a_subscription_in_arrears_is_not_closed_before_its_last_period_is_billed(
    stack: Stack, database_url: str
) -> None:
    tenant = make_operator(database_url)
    net = await product(stack.api, tenant, "broadband")
    code = await plan(stack.api, tenant, product_code=net, prices={"EUR": "31.00"}, billing_term="in_arrears")
    sub = await subscribe_plan(stack, tenant, code, "2025-01-01", 1)
    await action(stack, tenant, sub, "terminate", effective_date="2025-01-11", reason="moving")

    # Mid-period: January (ten days used) is not due until it ends; nothing billed, nothing closed.
    early = await bill(stack, tenant, 1, "2025-01-20")
    assert early["counts"]["accounts"] == 1 and early["counts"]["invoices"] == 0
    assert marker(database_url, sub)[2] is None

    # Its end: the ten days are billed (10 x 1.00; no tax rate in this catalogue).
    final = await bill(stack, tenant, 1, "2025-02-01")
    assert final["counts"]["invoices"] == 1
    assert invoice_totals(database_url, sub) == [("2025-02-01", 1000)]

    # The next run finds nothing left and closes it; the one after passes it by.
    closing = await bill(stack, tenant, 1, "2025-03-01")
    assert closing["counts"]["accounts"] == 1 and closing["counts"]["invoices"] == 0
    assert marker(database_url, sub) == ("terminated", date(2025, 1, 11), date(2025, 1, 11))
    # Its page retried after the commit answers what the page billed: the account it looked at too,
    # though the subscription it closed is no longer due (stored with the page, migration 0052).
    retried = retry_page(database_url, tenant.organisation_id, closing, sub)
    assert (retried.accounts, retried.invoices, retried.failed) == (1, 0, [])
    assert (await bill(stack, tenant, 1, "2025-04-01"))["counts"]["accounts"] == 0
    assert invoice_totals(database_url, sub) == [("2025-02-01", 1000)]


async def test_a_dry_run_closes_nothing_and_a_live_subscription_is_never_closed(
    stack: Stack, database_url: str
) -> None:
    tenant = make_operator(database_url)
    net = await product(stack.api, tenant, "broadband")
    code = await plan(stack.api, tenant, product_code=net, prices={"EUR": "31.00"})
    live = await subscribe_plan(stack, tenant, code, "2025-01-01", 1)
    lost = await subscribe_plan(stack, tenant, code, "2025-01-01", 1)
    await bill(stack, tenant, 1, "2025-01-01")
    await action(stack, tenant, lost, "terminate", effective_date="2025-01-31", reason="moving")
    await bill(stack, tenant, 1, "2025-02-01")  # nothing due for the lost one: closed here already

    preview = await bill(stack, tenant, 1, "2025-03-01", dry_run=True)
    assert preview["status"] == "preview" and preview["counts"]["accounts"] == 1  # the live one only
    assert marker(database_url, live) == ("active", None, None)
    assert marker(database_url, lost) == ("terminated", date(2025, 1, 31), date(2025, 1, 31))
    with engine_for(database_url).begin() as conn:  # a dry run of a fresh loss records nothing
        conn.execute(
            sa.text("update subscriptions set fully_billed_to = null where id = :s"),
            {"s": lost["subscription_id"]},
        )
    again = await bill(stack, tenant, 1, "2025-03-01", dry_run=True)
    assert again["counts"]["accounts"] == 2
    assert marker(database_url, lost)[2] is None
