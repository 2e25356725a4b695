"""An accepted partner charge lands on the subscriber's next invoice through a real bill run (API and
worker on the dev server), taxed and posted like any pending charge, exactly once: the next run does not
bill it again, and a charge sent twice by the partner is one line."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from activities.partner_charges.deciding import decide_received
from activities.partner_charges.receiving import store_received
from domain.ids import new_id
from integrations.partners.base import PartnerCharge as Incoming
from models.base import engine_for, unit_of_work
from models.partners import PartnerCharge, PartnerSubscription
from tests.support.billing_runs import bill, subscribe
from tests.support.catalog_factory import plan, post
from tests.support.factories import make_operator
from tests.support.subscription_support import Stack

AT = datetime(2024, 6, 1, 9, tzinfo=UTC)


def netflix_charge(number: str, customer_id: str) -> Incoming:
    return Incoming(
        charge_number=number,
        customer_id=customer_id,
        partner_plan="STANDARD",
        amount_minor=1549,
        currency="USD",
        local_amount_minor=1425,
        local_currency="EUR",
        paid_through=date(2024, 6, 30),
        received_at=AT,
    )


def lines_of(database_url: str, account_id: str) -> list[tuple[str, str, str, int, int]]:
    with engine_for(database_url).connect() as conn:
        rows = conn.execute(
            sa.text(
                "select i.number, l.kind, l.description, l.amount_minor, l.tax_minor from invoices i "
                "join invoice_lines l on l.invoice_id = i.id where i.account_id = :a "
                "order by i.number, l.position"
            ),
            {"a": account_id},
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_an_accepted_charge_is_on_the_next_invoice_once(stack: Stack, database_url: str) -> None:
    tenant = make_operator(database_url)
    await post(
        stack.api,
        tenant,
        "/v1/catalog/tax-rates",
        {"country": "ES", "category": "standard", "percent": "21", "name": "IVA"},
    )
    code = await plan(stack.api, tenant, prices={"EUR": "30.00"})
    sub = await subscribe(stack, tenant, code, "2024-06-01", 1)
    org = tenant.organisation_id
    with unit_of_work(database_url) as session:
        session.add(
            PartnerSubscription(
                id=new_id("psub"),
                organisation_id=org,
                account_id=sub["account_id"],
                subscription_id=sub["subscription_id"],
                provider="netflix",
                partner_plan="STANDARD",
                partner_customer_id=sub["account_id"],
                status="active",
                allowance_minor=2000,
                currency="EUR",
                included_in_price=False,
                activated_at=AT,
            )
        )
    charge = netflix_charge("NFX900001", sub["account_id"])
    with unit_of_work(database_url) as session:  # what the acceptance's fetch and decide steps run
        store_received(session, org, "netflix", [charge, charge], AT)
    with unit_of_work(database_url) as session:
        store_received(session, org, "netflix", [charge], AT)  # the next fetch lists it again
    with unit_of_work(database_url) as session:
        decided = decide_received(session, org, "netflix", AT, 50)
    assert (decided.accepted, decided.declined, decided.billed_minor) == (1, 0, 1425)

    first = await bill(stack, tenant, 1, "2024-06-01")
    assert first["status"] == "completed", first
    lines = lines_of(database_url, sub["account_id"])
    partner = [line for line in lines if line[1] == "partner_charge"]
    assert [(d, a, t) for _, _, d, a, t in partner] == [("Netflix STANDARD to 2024-06-30", 1425, 299)]
    assert sorted(a for *_, a, _ in lines) == [1425, 3000]

    await bill(stack, tenant, 1, "2024-07-01")  # the next period: the plan again, the charge not
    again = [line for line in lines_of(database_url, sub["account_id"]) if line[1] == "partner_charge"]
    assert len(again) == 1
    with unit_of_work(database_url) as session:
        row = session.execute(
            sa.select(PartnerCharge).where(PartnerCharge.organisation_id == org)
        ).scalar_one()
        status = session.execute(
            sa.text("select status from pending_charges where id = :i"), {"i": row.pending_charge_id}
        ).scalar_one()
    assert (row.times_received, row.status, status) == (3, "accepted", "invoiced")
