"""/v1/me invoices and credit notes: the subscriber's own, as JSON and PDF; another subscriber's, a draft
or a staff key see nothing."""

from __future__ import annotations

import httpx

from tests.support.billing_factory import MIXED_LINES, Line, make_account, make_invoice
from tests.support.device_support import assign, make_subscriber, receive
from tests.support.device_support import make_shop as make_device_shop
from tests.support.factories import Tenant
from tests.support.subscribers import sign_in


async def test_invoices_list_detail_and_pdf(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    invoice = make_invoice(database_url, account, MIXED_LINES)
    draft = make_invoice(database_url, account, [Line("Borrador", 100)], status="draft")
    other_account = make_account(database_url, operator.organisation_id)
    others = make_invoice(database_url, other_account, [Line("Otro", 500)])
    signed = sign_in(database_url, account)

    listed = await api.get("/v1/me/invoices", cookies=signed.cookies)
    assert listed.status_code == 200, listed.text
    assert [(i["id"], i["total_minor"], i["amount_due_minor"]) for i in listed.json()] == [
        (invoice, 6484, 6484)
    ]
    one = await api.get(f"/v1/me/invoices/{invoice}", cookies=signed.cookies)
    assert one.status_code == 200, one.text
    assert (one.json()["net_minor"], one.json()["tax_minor"], one.json()["total_minor"]) == (5499, 985, 6484)
    assert [line["amount_minor"] for line in one.json()["lines"]] == [3000, 1500, 999]
    pdf = await api.get(f"/v1/me/invoices/{invoice}.pdf", cookies=signed.cookies)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    by_accept = await api.get(
        f"/v1/me/invoices/{invoice}", cookies=signed.cookies, headers={"Accept": "application/pdf"}
    )
    assert by_accept.status_code == 200 and by_accept.content.startswith(b"%PDF")

    for hidden in (draft, others, "inv_nope", "acc_x"):
        for suffix in ("", ".pdf"):
            missing = await api.get(f"/v1/me/invoices/{hidden}{suffix}", cookies=signed.cookies)
            assert missing.status_code == 404 and missing.json()["code"] == "invoice_not_found", hidden
    staff = await api.get(f"/v1/me/invoices/{invoice}", headers=operator.auth)
    assert staff.status_code == 403 and staff.json()["code"] == "subscriber_only"
    nobody = await api.get("/v1/me/invoices")
    assert nobody.status_code == 401


async def test_credit_notes_list_detail_and_pdf(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account = make_account(database_url, operator.organisation_id)
    other = make_account(database_url, operator.organisation_id)
    body = {
        "account_id": account,
        "amount_minor": 1000,
        "tax_rate": "ES-standard",
        "tax_percent": "21",
        "tax_inclusive": True,
        "description": "Sorry for the outage",
    }
    made = await api.post("/v1/credit-notes", json=body, headers=operator.post_headers())
    assert made.status_code == 201, made.text
    note = made.json()
    theirs = await api.post(
        "/v1/credit-notes", json={**body, "account_id": other}, headers=operator.post_headers()
    )
    signed = sign_in(database_url, account)
    listed = await api.get("/v1/me/credit-notes", cookies=signed.cookies)
    assert [(n["id"], n["total_minor"]) for n in listed.json()] == [(note["id"], -1000)]
    one = await api.get(f"/v1/me/credit-notes/{note['id']}", cookies=signed.cookies)
    assert one.json() == note
    pdf = await api.get(f"/v1/me/credit-notes/{note['id']}.pdf", cookies=signed.cookies)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    for suffix in ("", ".pdf"):
        hidden = await api.get(f"/v1/me/credit-notes/{theirs.json()['id']}{suffix}", cookies=signed.cookies)
        assert hidden.status_code == 404 and hidden.json()["code"] == "credit_note_not_found"


async def test_a_subscription_shows_the_devices_it_holds(api: httpx.AsyncClient, database_url: str) -> None:
    shop = make_device_shop(database_url)
    holder = make_subscriber(database_url, shop)
    (box, spare) = receive(database_url, shop, 2)
    assign(database_url, shop, box, holder)
    me = sign_in(database_url, holder.account_id)
    detail = await api.get(f"/v1/me/subscriptions/{holder.subscription_id}", cookies=me.cookies)
    assert detail.status_code == 200, detail.text
    devices = detail.json()["devices"]
    assert [(d["id"], d["product_code"], d["service_line_id"]) for d in devices] == [
        (box, shop.box, holder.service_id)
    ]
    assert spare not in {d["id"] for d in devices}
    assert [s["price"]["amount_minor"] for s in detail.json()["services"]] == [2000]
    stranger = sign_in(database_url, make_subscriber(database_url, shop).account_id)
    hidden = await api.get(f"/v1/me/subscriptions/{holder.subscription_id}", cookies=stranger.cookies)
    assert hidden.status_code == 404 and hidden.json()["code"] == "subscription_not_found"
