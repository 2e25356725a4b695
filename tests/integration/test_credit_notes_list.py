"""GET /v1/credit-notes: filtered by account and invoice, in cursor pages, within the caller's subtree."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.billing_factory import MIXED_LINES, make_account, make_invoice
from tests.support.factories import Tenant, make_child, make_operator


async def _goodwill(api: httpx.AsyncClient, tenant: Tenant, account_id: str, amount: int) -> str:
    body = {
        "account_id": account_id,
        "reason": "goodwill",
        "lines": [
            {"description": "Outage", "amount_minor": amount, "tax_rate": "ES-standard", "tax_percent": "21"}
        ],
    }
    response = await api.post("/v1/credit-notes", json=body, headers=tenant.post_headers())
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _list(api: httpx.AsyncClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    response = await api.get("/v1/credit-notes", params=params, headers=tenant.auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_credit_notes_are_listed_by_account_and_invoice_page_by_page(
    api: httpx.AsyncClient, database_url: str
) -> None:
    operator = make_operator(database_url)
    partner = make_child(database_url, operator.organisation_id)
    mine = make_account(database_url, operator.organisation_id)
    theirs = make_account(database_url, partner.organisation_id)
    invoice_id = make_invoice(database_url, mine, MIXED_LINES)
    void = await api.post(f"/v1/invoices/{invoice_id}/void", headers=operator.post_headers())
    assert void.status_code == 200, void.text
    voided = void.json()["credit_note"]["id"]
    goodwill = [await _goodwill(api, operator, mine, amount) for amount in (100, 200)]
    partners = await _goodwill(api, partner, theirs, 300)

    everything = await _list(api, operator, limit=200)
    assert {n["id"] for n in everything["data"]} == {voided, *goodwill, partners}
    assert everything["has_more"] is False and everything["next_cursor"] is None

    by_account = await _list(api, operator, account_id=mine, limit=2)
    assert [n["id"] for n in by_account["data"]] == sorted([voided, *goodwill])[:2]
    assert by_account["has_more"] is True
    rest = await _list(api, operator, account_id=mine, limit=2, cursor=by_account["next_cursor"])
    assert [n["id"] for n in rest["data"]] == sorted([voided, *goodwill])[2:]
    assert rest["has_more"] is False

    by_invoice = await _list(api, operator, invoice_id=invoice_id)
    assert [(n["id"], n["reason"], n["total_minor"]) for n in by_invoice["data"]] == [(voided, "void", -6484)]

    seen_by_partner = await _list(api, partner)
    assert [n["id"] for n in seen_by_partner["data"]] == [partners]
    assert (await _list(api, partner, account_id=mine))["data"] == []

    bad = await api.get("/v1/credit-notes", params={"cursor": "!!"}, headers=operator.auth)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"
