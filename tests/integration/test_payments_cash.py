"""Cash at an outlet, bank transfers, allocation oldest first or chosen, overpayment, refunds, currency."""

from __future__ import annotations

from datetime import date

import httpx

from domain.organisations import OrganisationKind, Role
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.factories import Tenant, make_child
from tests.support.payment_support import invoice_row, postings, rows

FIBRE = [Line("Fibra 600 Mb", 1000, kind="broadband")]  # 1210
TV = [Line("Televisión", 500, kind="video")]  # 605


def outlet_agent(database_url: str, operator: Tenant) -> Tenant:
    partner = make_child(database_url, operator.organisation_id)
    return make_child(database_url, partner.organisation_id, kind=OrganisationKind.OUTLET, role=Role.AGENT)


async def test_an_outlet_agent_takes_cash_for_its_own_customers_only(
    pay_api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    outlet, other = outlet_agent(database_url, operator), outlet_agent(database_url, operator)
    mine = make_account(database_url, outlet.organisation_id)
    theirs = make_account(database_url, other.organisation_id)
    older = make_invoice(database_url, mine, FIBRE, issue_date=date(2026, 3, 1))
    newer = make_invoice(database_url, mine, TV, issue_date=date(2026, 4, 1))
    make_invoice(database_url, theirs, FIBRE)

    refused = await pay_api.post(
        "/v1/payments",
        headers=outlet.post_headers(),
        json={"account_id": theirs, "amount_minor": 1210, "currency": "EUR", "method": "cash"},
    )
    assert (refused.status_code, refused.json()["code"]) == (404, "account_not_found")
    assert rows(database_url, "select id from payments where account_id = :a", a=theirs) == []

    resp = await pay_api.post(
        "/v1/payments",
        headers=outlet.post_headers(),
        json={"account_id": mine, "amount_minor": 1500, "currency": "EUR", "method": "cash"},
    )
    assert resp.status_code == 201, resp.text
    payment = resp.json()
    assert payment["receipt_number"] == "RCPT-000001"
    assert payment["received_by"] is not None
    assert payment["allocations"] == [
        {"invoice_id": older, "amount_minor": 1210, "reversed_minor": 0},
        {"invoice_id": newer, "amount_minor": 290, "reversed_minor": 0},
    ]
    assert invoice_row(database_url, older)["status"] == "paid"
    assert invoice_row(database_url, newer) == {
        "status": "partially_paid",
        "paid_minor": 290,
        "total_minor": 605,
    }
    assert postings(database_url, "payment", payment["id"]) == [
        ("cash:cash", 1500, 0),
        ("receivable", 0, 1500),
    ]

    receipt = await pay_api.get(f"/v1/payments/{payment['id']}/receipt", headers=outlet.auth)
    assert receipt.status_code == 200
    assert "Receipt RCPT-000001" in receipt.text and "15.00 EUR" in receipt.text
    hidden = await pay_api.get(f"/v1/payments/{payment['id']}/receipt", headers=other.auth)
    assert hidden.status_code == 404


async def test_chosen_invoices_and_overpayment_become_credit(
    pay_api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    older = make_invoice(database_url, account, FIBRE, issue_date=date(2026, 3, 1))
    newer = make_invoice(database_url, account, TV, issue_date=date(2026, 4, 1))
    resp = await pay_api.post(
        "/v1/payments",
        headers=operator.post_headers(),
        json={
            "account_id": account,
            "amount_minor": 1000,
            "currency": "EUR",
            "method": "bank_transfer",
            "reference": "TRF-1",
            "allocation": "chosen",
            "invoice_ids": [newer],
        },
    )
    assert resp.status_code == 201, resp.text
    payment = resp.json()
    assert payment["allocations"] == [{"invoice_id": newer, "amount_minor": 605, "reversed_minor": 0}]
    assert payment["unallocated_minor"] == 395
    assert invoice_row(database_url, older)["paid_minor"] == 0
    listed = (await pay_api.get(f"/v1/payments?account_id={account}", headers=operator.auth)).json()
    assert [p["id"] for p in listed] == [payment["id"]]

    # A refund takes back credit first (395), then the newest allocation.
    resp = await pay_api.post(
        f"/v1/payments/{payment['id']}/refunds", headers=operator.post_headers(), json={"amount_minor": 500}
    )
    assert resp.status_code == 201, resp.text
    assert invoice_row(database_url, newer) == {
        "status": "partially_paid",
        "paid_minor": 500,
        "total_minor": 605,
    }
    assert postings(database_url, "refund", resp.json()["id"]) == [
        ("cash:manual", 0, 500),
        ("receivable", 500, 0),
    ]


async def test_bad_payments_are_refused_and_move_nothing(
    pay_api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    invoice = make_invoice(database_url, account, FIBRE)
    wrong = await pay_api.post(
        "/v1/payments",
        headers=operator.post_headers(),
        json={"account_id": account, "amount_minor": 1210, "currency": "USD", "method": "cash"},
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "currency_mismatch")
    ok = await pay_api.post(
        "/v1/payments",
        headers=operator.post_headers(),
        json={"account_id": account, "amount_minor": 100, "currency": "EUR", "method": "cash"},
    )
    paid = ok.json()
    too_much = await pay_api.post(
        f"/v1/payments/{paid['id']}/refunds", headers=operator.post_headers(), json={"amount_minor": 101}
    )
    assert (too_much.status_code, too_much.json()["code"]) == (422, "refund_exceeds_payment")
    assert invoice_row(database_url, invoice)["paid_minor"] == 100
    assert rows(database_url, "select id from refunds where payment_id = :p", p=paid["id"]) == []
    assert len(rows(database_url, "select id from payments where account_id = :a", a=account)) == 1
