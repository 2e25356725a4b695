"""Voiding invoices and issuing credit notes: exact amounts, ledger entries; bad input writes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from models.base import unit_of_work
from models.billing import CreditNote, LedgerEntry, LedgerPosting
from tests.support.billing_factory import MIXED_LINES, make_account, make_invoice
from tests.support.factories import Tenant, make_operator

LINES = MIXED_LINES  # net 5499, tax 985, total 6484


def _ledger(database_url: str, source_id: str) -> dict[str, int]:
    with unit_of_work(database_url) as session:
        stmt = (
            sa.select(LedgerPosting.ledger_account, LedgerPosting.debit_minor - LedgerPosting.credit_minor)
            .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
            .where(LedgerEntry.source_id == source_id)
        )
        return {account: int(amount) for account, amount in session.execute(stmt)}


def _count_notes(database_url: str, account_id: str) -> int:
    with unit_of_work(database_url) as session:
        stmt = sa.select(sa.func.count()).select_from(CreditNote).where(CreditNote.account_id == account_id)
        return int(session.execute(stmt).scalar_one())


async def _balance(api: httpx.AsyncClient, tenant: Tenant, account_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/accounts/{account_id}/balance", headers=tenant.auth)
    assert response.status_code == 200, response.text
    return list(response.json()["balances"])


async def test_void_reverses_the_invoice_with_a_full_credit_note(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account_id = make_account(database_url, operator.organisation_id)
    invoice_id = make_invoice(database_url, account_id, LINES)
    assert await _balance(api, operator, account_id) == [{"currency": "EUR", "amount_minor": 6484}]

    response = await api.post(f"/v1/invoices/{invoice_id}/void", headers=operator.post_headers())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["invoice"]["status"] == "void"
    assert body["invoice"]["credited_minor"] == 6484
    assert body["invoice"]["amount_due_minor"] == 0
    note = body["credit_note"]
    assert note["number"] == "CN-000001"
    assert note["reason"] == "void"
    assert (note["net_minor"], note["tax_minor"], note["total_minor"]) == (-5499, -985, -6484)
    assert [
        (li["description"], li["amount_minor"], li["tax_minor"], li["quantity"]) for li in note["lines"]
    ] == [
        ("Fibra 600 Mb", -3000, -630, "-1"),
        ("Televisión", -1500, -315, "-1"),
        ("Libro digital", -999, -40, "-1"),
    ]
    assert body["invoice"]["credit_note_ids"] == [note["id"]]
    invoice_postings = _ledger(database_url, invoice_id)
    assert invoice_postings == {
        "receivable": 6484,
        "revenue:broadband": -3000,
        "revenue:video": -1500,
        "revenue:content": -999,
        "tax:ES-standard": -945,
        "tax:ES-super-reduced": -40,
    }
    assert _ledger(database_url, note["id"]) == {k: -v for k, v in invoice_postings.items()}
    assert await _balance(api, operator, account_id) == [{"currency": "EUR", "amount_minor": 0}]

    again = await api.post(f"/v1/invoices/{invoice_id}/void", headers=operator.post_headers())
    assert again.status_code == 409
    assert again.json()["code"] == "invoice_void"
    assert _count_notes(database_url, account_id) == 1


async def test_void_replays_with_the_same_idempotency_key(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account_id = make_account(database_url, operator.organisation_id)
    invoice_id = make_invoice(database_url, account_id, LINES)
    headers = operator.post_headers("void-once")
    first = await api.post(f"/v1/invoices/{invoice_id}/void", headers=headers)
    second = await api.post(f"/v1/invoices/{invoice_id}/void", headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.json() == second.json()
    assert _count_notes(database_url, account_id) == 1


async def test_a_paid_invoice_cannot_be_voided(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account_id = make_account(database_url, operator.organisation_id)
    invoice_id = make_invoice(database_url, account_id, LINES, status="paid", paid_minor=6484)
    response = await api.post(f"/v1/invoices/{invoice_id}/void", headers=operator.post_headers())
    assert response.status_code == 409
    assert response.json()["code"] == "invoice_paid"
    assert (await api.get(f"/v1/invoices/{invoice_id}", headers=operator.auth)).json()["status"] == "paid"
    assert _count_notes(database_url, account_id) == 0


async def test_partial_credits_up_to_what_remains_then_void_credits_the_rest(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account_id = make_account(database_url, operator.organisation_id)
    invoice_id = make_invoice(database_url, account_id, LINES)
    body = {
        "invoice_id": invoice_id,
        "reason": "suspension",
        "description": "Five days without service",
        "lines": [{"description": "Fibra: 5 días", "amount_minor": 500, "tax_rate": "ES-standard"}],
    }
    response = await api.post("/v1/credit-notes", json=body, headers=operator.post_headers())
    assert response.status_code == 201, response.text
    note = response.json()
    assert (note["net_minor"], note["tax_minor"], note["total_minor"]) == (-500, -105, -605)
    assert note["taxes"] == [
        {"tax_rate": "ES-standard", "tax_percent": "21", "net_minor": -500, "tax_minor": -105}
    ]
    assert _ledger(database_url, note["id"]) == {
        "receivable": -605,
        "revenue:suspension": 500,
        "tax:ES-standard": 105,
    }

    # 21% gross invoiced 5445, credited 605: 4840 remain. Gross 4841 is one cent too many.
    too_much = {
        "invoice_id": invoice_id,
        "tax_inclusive": True,
        "amount_minor": 4841,
        "tax_rate": "ES-standard",
    }
    refused = await api.post("/v1/credit-notes", json=too_much, headers=operator.post_headers())
    assert refused.status_code == 422
    assert refused.json()["code"] == "credit_exceeds_invoice"
    exact = {**too_much, "amount_minor": 4840}
    response = await api.post("/v1/credit-notes", json=exact, headers=operator.post_headers())
    assert response.status_code == 201, response.text
    assert (response.json()["net_minor"], response.json()["tax_minor"]) == (-4000, -840)

    invoice = (await api.get(f"/v1/invoices/{invoice_id}", headers=operator.auth)).json()
    assert (invoice["status"], invoice["credited_minor"], invoice["amount_due_minor"]) == (
        "issued",
        5445,
        1039,
    )

    void = await api.post(f"/v1/invoices/{invoice_id}/void", headers=operator.post_headers())
    assert void.status_code == 200, void.text
    rest = void.json()["credit_note"]
    assert [(li["tax_rate"], li["amount_minor"], li["tax_minor"]) for li in rest["lines"]] == [
        ("ES-super-reduced", -999, -40)
    ]
    assert rest["number"] == "CN-000003"
    assert await _balance(api, operator, account_id) == [{"currency": "EUR", "amount_minor": 0}]


async def test_goodwill_credit_without_an_invoice(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account_id = make_account(database_url, operator.organisation_id)
    body = {
        "account_id": account_id,
        "amount_minor": 1000,
        "tax_rate": "ES-standard",
        "tax_percent": "21",
        "tax_inclusive": True,
        "description": "Sorry for the outage",
    }
    response = await api.post("/v1/credit-notes", json=body, headers=operator.post_headers())
    assert response.status_code == 201, response.text
    note = response.json()
    # 1000 gross at 21%: tax = 1000 * 21 / 121 = 173.55 -> 174, net 826.
    assert (note["net_minor"], note["tax_minor"], note["total_minor"]) == (-826, -174, -1000)
    assert note["invoice_id"] is None and note["currency"] == "EUR" and note["reason"] == "goodwill"
    assert await _balance(api, operator, account_id) == [{"currency": "EUR", "amount_minor": -1000}]

    fetched = await api.get(f"/v1/credit-notes/{note['id']}", headers=operator.auth)
    assert fetched.json() == note
    html = (await api.get(f"/v1/credit-notes/{note['id']}.html", headers=operator.auth)).text
    for text in (
        "Factura rectificativa CN-000001",
        "Compensación comercial. Sorry for the outage",
        "-8,26 €",
        "-1,74 €",
        "-10,00 €",
    ):
        assert text in html, text
    pdf = await api.get(f"/v1/credit-notes/{note['id']}.pdf", headers=operator.auth)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"


async def test_bad_credit_requests_write_nothing(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account_id = make_account(database_url, operator.organisation_id)
    invoice_id = make_invoice(database_url, account_id, LINES)
    other_account = make_account(database_url, operator.organisation_id)
    stranger = make_operator(database_url, name="Other Operator")
    cases: list[tuple[dict[str, Any], int, str]] = [
        (
            {"invoice_id": invoice_id, "currency": "USD", "amount_minor": 100, "tax_rate": "ES-standard"},
            422,
            "currency_mismatch",
        ),
        (
            {
                "account_id": account_id,
                "currency": "USD",
                "amount_minor": 100,
                "tax_rate": "X",
                "tax_percent": "0",
            },
            422,
            "currency_mismatch",
        ),
        ({"invoice_id": invoice_id, "amount_minor": 100}, 422, "tax_rate_required"),
        (
            {"invoice_id": invoice_id, "amount_minor": 100, "tax_rate": "FR-standard"},
            422,
            "tax_rate_not_on_invoice",
        ),
        (
            {"invoice_id": invoice_id, "amount_minor": 100, "tax_rate": "ES-standard", "tax_percent": "20"},
            422,
            "tax_rate_mismatch",
        ),
        ({"account_id": account_id, "amount_minor": 100}, 422, "tax_rate_required"),
        (
            {
                "invoice_id": invoice_id,
                "account_id": other_account,
                "amount_minor": 1,
                "tax_rate": "ES-standard",
            },
            422,
            "account_mismatch",
        ),
        (
            {"invoice_id": invoice_id, "amount_minor": 6000, "tax_rate": "ES-standard"},
            422,
            "credit_exceeds_invoice",
        ),
        ({"invoice_id": invoice_id}, 422, "validation_error"),
        ({"invoice_id": invoice_id, "amount_minor": -5, "tax_rate": "ES-standard"}, 422, "validation_error"),
        ({"invoice_id": "inv_01AAAAAAAAAAAAAAAAAAAAAAAA", "amount_minor": 1}, 404, "invoice_not_found"),
    ]
    for body, status, code in cases:
        response = await api.post("/v1/credit-notes", json=body, headers=operator.post_headers())
        assert (response.status_code, response.json()["code"]) == (status, code), body
    foreign = await api.post(
        "/v1/credit-notes",
        json={"invoice_id": invoice_id, "amount_minor": 1, "tax_rate": "ES-standard"},
        headers=stranger.post_headers(),
    )
    assert (foreign.status_code, foreign.json()["code"]) == (404, "invoice_not_found")
    foreign_void = await api.post(f"/v1/invoices/{invoice_id}/void", headers=stranger.post_headers())
    assert (foreign_void.status_code, foreign_void.json()["code"]) == (404, "invoice_not_found")
    missing_key = await api.post(f"/v1/invoices/{invoice_id}/void", headers=operator.auth)
    assert missing_key.status_code == 400
    assert _count_notes(database_url, account_id) == 0
    assert await _balance(api, operator, account_id) == [{"currency": "EUR", "amount_minor": 6484}]
    # The numbers the refused requests touched were rolled back: the next credit note is CN-000001.
    ok = await api.post(
        "/v1/credit-notes",
        json={"invoice_id": invoice_id, "amount_minor": 1, "tax_rate": "ES-standard"},
        headers=operator.post_headers(),
    )
    assert ok.json()["number"] == "CN-000001"


async def test_concurrent_credits_cannot_overdraw_an_invoice(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    import asyncio

    account_id = make_account(database_url, operator.organisation_id)
    invoice_id = make_invoice(database_url, account_id, LINES)  # 5445 gross at ES-standard
    body = {"invoice_id": invoice_id, "amount_minor": 3000, "tax_rate": "ES-standard", "tax_inclusive": True}
    responses = await asyncio.gather(
        *(api.post("/v1/credit-notes", json=body, headers=operator.post_headers()) for _ in range(4))
    )
    assert sorted(r.status_code for r in responses) == [201, 422, 422, 422]
    assert _count_notes(database_url, account_id) == 1
