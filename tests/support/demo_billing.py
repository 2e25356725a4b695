"""Bill runs on the demo catalogue (`runtime/demo_catalogue.py`): seeding it for a tenant, subscribing an
account to an order of it, and reading back what was invoiced, credited, posted to the ledger and left
pending, as plain tuples the tests compare exactly.

The demo catalogue: Fibre 600 Mb 30.00/month renting a router at 3.00/month, TV Basic 15.00/month,
the fibre + TV bundle 10% off (the plans' recurring charges, not the rental), IVA 21%."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from models.base import engine_for, unit_of_work
from models.organisations import Organisation
from runtime.demo_catalogue import WAREHOUSE, seed_demo_catalogue
from tests.support.catalog_factory import plan, post
from tests.support.factories import Tenant, make_operator, person
from tests.support.subscription_support import Stack, wait_process

Row = tuple[str, str, str, str, int]  # (kind, description, first day, end, amount)
Rental = tuple[str, str, int]  # (first day, end, amount)

RENTAL = "rental of demo-router"
FIBRE = {"items": [{"plan": "demo-fibre-600"}]}
HOME = {"bundle": "demo-home", "items": [{"plan": "demo-fibre-600"}, {"plan": "demo-tv-basic"}]}


def seed(database_url: str, tenant: Tenant) -> int:
    with unit_of_work(database_url) as session:
        operator = session.get(Organisation, tenant.organisation_id)
        assert operator is not None
        return seed_demo_catalogue(session, operator)


async def subscribe(stack: Stack, tenant: Tenant, start: str, order: dict[str, Any]) -> dict[str, str]:
    account = await post(stack.api, tenant, "/v1/accounts", person())
    started = await stack.api.post(
        "/v1/subscriptions",
        headers=tenant.post_headers(),
        json={"account_id": account["id"], "start_date": start, "bill_day": 1, **order},
    )
    assert started.status_code == 202, started.text
    process = await wait_process(stack.api, tenant, started.json()["process_id"])
    assert process["step"] == "active", process
    return {"account_id": account["id"], "subscription_id": started.json()["subscription_id"]}


def invoices(database_url: str, account_id: str) -> list[tuple[tuple[int, int, int], list[Row]]]:
    """Each invoice of the account in number order: (net, tax, total) and its lines in position order."""
    out = []
    with engine_for(database_url).connect() as conn:
        heads = conn.execute(
            sa.text(
                "select id, net_minor, tax_minor, total_minor from invoices "
                "where account_id = :a order by number"
            ),
            {"a": account_id},
        ).all()
        for head in heads:
            lines = conn.execute(
                sa.text(
                    "select kind, description, period_start::text, period_end::text, amount_minor "
                    "from invoice_lines where invoice_id = :i order by position"
                ),
                {"i": head.id},
            ).all()
            out.append(((head.net_minor, head.tax_minor, head.total_minor), [tuple(r) for r in lines]))
    return out  # type: ignore[return-value]


def ledger(database_url: str, account_id: str) -> dict[str, tuple[int, int]]:
    with engine_for(database_url).connect() as conn:
        rows = conn.execute(
            sa.text(
                "select p.ledger_account, sum(p.debit_minor), sum(p.credit_minor) from ledger_postings p "
                "join ledger_entries e on e.id = p.entry_id where e.account_id = :a group by p.ledger_account"
            ),
            {"a": account_id},
        ).all()
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


async def quoted(
    stack: Stack, tenant: Tenant, account_id: str, items: list[dict[str, Any]]
) -> dict[str, Any]:
    resp = await stack.api.post(
        "/v1/quotes", headers=tenant.auth, json={"account_id": account_id, "bill_day": 1, "items": items}
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def device_and_warehouse(database_url: str, tenant: Tenant, sub: dict[str, Any]) -> tuple[str, str]:
    with engine_for(database_url).connect() as conn:
        device_id = conn.execute(
            sa.text("select id from devices where subscription_id = :s"), {"s": sub["subscription_id"]}
        ).scalar_one()
        warehouse_id = conn.execute(
            sa.text("select id from warehouses where operator_id = :o and code = :c"),
            {"o": tenant.organisation_id, "c": WAREHOUSE},
        ).scalar_one()
    return device_id, warehouse_id


def home_month(start: str, end: str) -> tuple[tuple[int, int, int], list[Row]]:
    """A full month of the fibre + TV bundle: 30.00 + 3.00 rental + 15.00 - 10% of 30.00 and of 15.00;
    net 43.50, IVA 21% = 9.135 -> 9.14, total 52.64."""
    discount = "bundle demo-home discount 10%"
    return (
        (4350, 914, 5264),
        [
            ("recurring", f"Fibre 600 Mb {start} to {end}", start, end, 3000),
            ("recurring", f"TV Basic {start} to {end}", start, end, 1500),
            ("device_rental", f"{RENTAL} {start} to {end}", start, end, 300),
            ("discount", f"{discount} (Fibre 600 Mb {start} to {end})", start, end, -300),
            ("discount", f"{discount} (TV Basic {start} to {end})", start, end, -150),
        ],
    )


async def renting_plans(stack: Stack, database_url: str) -> tuple[Tenant, str, str]:
    tenant = make_operator(database_url)
    seed(database_url, tenant)

    def router(price: str) -> dict[str, Any]:
        return {"product_code": "demo-router", "mode": "rent", "prices": {"EUR": price}}

    monthly = await plan(
        stack.api, tenant, product_code="demo-fibre", prices={"EUR": "12.00"}, device=router("3.00")
    )
    yearly = await plan(
        stack.api,
        tenant,
        product_code="demo-fibre",
        prices={"EUR": "120.00"},
        device=router("36.00"),
        billing_period="year",
    )
    return tenant, monthly, yearly


def rentals(database_url: str, sub: dict[str, Any]) -> list[Rental]:
    with engine_for(database_url).connect() as conn:
        rows = conn.execute(
            sa.text(
                "select l.period_start::text, l.period_end::text, l.amount_minor from invoices i "
                "join invoice_lines l on l.invoice_id = i.id "
                "where i.account_id = :a and l.kind = 'device_rental'"
            ),
            {"a": sub["account_id"]},
        ).all()
    return sorted(tuple(r) for r in rows)  # type: ignore[misc]


def pending_credits(database_url: str, sub: dict[str, Any]) -> list[tuple[str, int]]:
    with engine_for(database_url).connect() as conn:
        rows = conn.execute(
            sa.text(
                "select kind, amount_minor from pending_charges where subscription_id = :s "
                "and amount_minor < 0"
            ),
            {"s": sub["subscription_id"]},
        ).all()
    return sorted(tuple(r) for r in rows)  # type: ignore[misc]


def notes(database_url: str, account_id: str) -> list[tuple[tuple[int, int, int], list[tuple[str, int]]]]:
    with engine_for(database_url).connect() as conn:
        rows = conn.execute(
            sa.text(
                "select net_minor, tax_minor, total_minor, lines from credit_notes "
                "where account_id = :a order by number"
            ),
            {"a": account_id},
        ).all()
    return [((r[0], r[1], r[2]), sorted((line["kind"], line["amount_minor"]) for line in r[3])) for r in rows]
