"""The demo catalogue seeded by `multibill up`: seeding twice adds nothing, and a new account can
subscribe to it, be billed and get its invoice PDF."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from models.base import engine_for
from runtime.demo_catalogue import ROUTERS
from tests.support.catalog_factory import post
from tests.support.demo_billing import seed
from tests.support.factories import Tenant, make_operator, person
from tests.support.subscription_support import Stack, wait_process

COUNTS = {
    "products": "select count(*) from catalog_products where organisation_id = :o",
    "plans": "select count(*) from catalog_plans where organisation_id = :o",
    "bundles": "select count(*) from catalog_bundles where organisation_id = :o",
    "tax_rates": "select count(*) from tax_rates where organisation_id = :o",
    "devices": "select count(*) from devices where operator_id = :o",
}


def counts(database_url: str, tenant: Tenant) -> dict[str, int]:
    with engine_for(database_url).connect() as conn:
        return {
            name: int(conn.execute(sa.text(sql), {"o": tenant.organisation_id}).scalar_one())
            for name, sql in COUNTS.items()
        }


def test_seeding_twice_adds_nothing(database_url: str) -> None:
    tenant = make_operator(database_url)
    assert seed(database_url, tenant) == 5 + 1 + 4 + 1 + 3  # products, VAT, plans, bundle, stock
    first = counts(database_url, tenant)
    assert first == {"products": 5, "plans": 4, "bundles": 1, "tax_rates": 1, "devices": ROUTERS}
    assert seed(database_url, tenant) == 0
    assert counts(database_url, tenant) == first


async def subscribe(
    stack: Stack, tenant: Tenant, order: dict[str, Any], account_id: str | None = None
) -> tuple[str, str]:
    """(account id, subscription id) of an account (a new one by default) subscribed to ``order`` from
    2026-03-01."""
    account_id = account_id or (await post(stack.api, tenant, "/v1/accounts", person()))["id"]
    started = await stack.api.post(
        "/v1/subscriptions",
        headers=tenant.post_headers(),
        json={"account_id": account_id, "start_date": "2026-03-01", "bill_day": 1, **order},
    )
    assert started.status_code == 202, started.text
    process = await wait_process(stack.api, tenant, started.json()["process_id"])
    assert process["step"] == "active", process
    return account_id, started.json()["subscription_id"]


async def test_a_new_account_subscribes_to_the_demo_catalogue_and_is_billed(
    stack: Stack, database_url: str
) -> None:
    tenant = make_operator(database_url)
    seed(database_url, tenant)
    listed = await stack.api.get("/v1/catalog/plans", headers=tenant.auth)
    assert {"demo-tv-basic", "demo-fibre-600", "demo-voice", "demo-sports"} <= {
        p["code"] for p in listed.json()["data"]
    }
    home = {
        "bundle": "demo-home",
        "items": [{"plan": "demo-fibre-600"}, {"plan": "demo-tv-basic"}],
    }
    home_account, bundled = await subscribe(stack, tenant, home)
    with engine_for(database_url).connect() as conn:
        routers = conn.execute(
            sa.text("select product_code, state from devices where subscription_id = :s"), {"s": bundled}
        ).all()
    assert [tuple(r) for r in routers] == [("demo-router", "assigned")]
    await subscribe(stack, tenant, {"items": [{"plan": "demo-voice"}]})
    account_id, _ = await subscribe(
        stack, tenant, {"items": [{"plan": "demo-tv-basic", "addons": ["demo-sports"]}]}
    )
    await subscribe(stack, tenant, home, account_id)  # the README's customer takes the bundle too

    run = await stack.api.post(
        "/v1/billing-runs", headers=tenant.post_headers(), json={"bill_day": 1, "period_date": "2026-03-01"}
    )
    assert run.status_code == 202, run.text
    await wait_process(stack.api, tenant, run.json()["process_id"])
    invoices = await stack.api.get("/v1/invoices", params={"account_id": account_id}, headers=tenant.auth)
    [invoice] = invoices.json()["data"]
    # March: TV Basic 15.00 + Sports 9.99 and the bundle (43.50, below): 68.49, IVA 21% 14.3829 -> 14.38
    assert (invoice["net_minor"], invoice["tax_minor"], invoice["total_minor"]) == (6849, 1438, 8287)
    bundles = await stack.api.get("/v1/invoices", params={"account_id": home_account}, headers=tenant.auth)
    [bundle] = bundles.json()["data"]
    # Fibre 30.00 + router rental 3.00 + TV 15.00 - 10% of 30.00 and of 15.00 = 43.50, IVA 21% 9.135 -> 9.14
    assert (bundle["net_minor"], bundle["tax_minor"], bundle["total_minor"]) == (4350, 914, 5264)
    pdf = await stack.api.get(f"/v1/invoices/{invoice['id']}.pdf", headers=tenant.auth)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
