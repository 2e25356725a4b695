"""/v1/invoices: list with filters and cursor, JSON with lines and taxes, HTML and PDF documents."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date

import httpx

from domain.organisations import Role
from domain.principal import Principal
from models.base import unit_of_work
from models.organisations import Organisation
from tests.support.billing_factory import Line, make_account, make_invoice
from tests.support.factories import Tenant, make_child, make_operator

SPANISH_LINES = [
    Line("Router Wi-Fi 6", 102030, kind="device", unit_price="1020.30"),
    Line("Televisión básica", 1500, rate="ES-reduced", percent="10", quantity="2", unit_price="7.50"),
]


def _pdf_text(pdf: bytes, tmp_path: object) -> str | None:
    if shutil.which("pdftotext") is None:
        return None
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return out.stdout.decode()


async def test_invoice_json_has_lines_taxes_and_totals(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    account_id = make_account(database_url, operator.organisation_id)
    invoice_id = make_invoice(database_url, account_id, SPANISH_LINES)
    response = await api.get(f"/v1/invoices/{invoice_id}", headers=operator.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["number"] == "INV-000001"
    assert (body["net_minor"], body["tax_minor"], body["total_minor"]) == (103530, 21576, 125106)
    assert body["amount_due_minor"] == 125106
    assert body["credited_minor"] == 0
    assert [(li["description"], li["amount_minor"], li["tax_minor"]) for li in body["lines"]] == [
        ("Router Wi-Fi 6", 102030, 21426),
        ("Televisión básica", 1500, 150),
    ]
    assert body["taxes"] == [
        {"tax_rate": "ES-reduced", "tax_percent": "10", "net_minor": 1500, "tax_minor": 150},
        {"tax_rate": "ES-standard", "tax_percent": "21", "net_minor": 102030, "tax_minor": 21426},
    ]
    assert body["credit_note_ids"] == []


async def test_list_filters_and_pages(api: httpx.AsyncClient, operator: Tenant, database_url: str) -> None:
    first = make_account(database_url, operator.organisation_id)
    second = make_account(database_url, operator.organisation_id)
    ids = [make_invoice(database_url, first, [Line("Fibra", 3000 + i)]) for i in range(3)]
    other = make_invoice(database_url, second, [Line("Fibra", 100)], status="overdue")

    seen: list[str] = []
    cursor = None
    while True:
        params = {"account_id": first, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/invoices", params=params, headers=operator.auth)).json()
        seen += [row["id"] for row in page["data"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == ids

    overdue = (await api.get("/v1/invoices", params={"status": "overdue"}, headers=operator.auth)).json()
    assert [row["id"] for row in overdue["data"]] == [other]
    assert overdue["data"][0]["total_minor"] == 121
    everything = (await api.get("/v1/invoices", headers=operator.auth)).json()
    assert {row["id"] for row in everything["data"]} == {*ids, other}

    bad = await api.get("/v1/invoices", params={"status": "lost"}, headers=operator.auth)
    assert bad.status_code == 422
    bad_cursor = await api.get("/v1/invoices", params={"cursor": "%%%"}, headers=operator.auth)
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["code"] == "invalid_cursor"


async def test_another_organisations_invoice_is_not_found(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    stranger = make_operator(database_url, name="Other Operator")
    invoice_id = make_invoice(
        database_url, make_account(database_url, operator.organisation_id), [Line("x", 100)]
    )
    for path in ("", ".html", ".pdf"):
        response = await api.get(f"/v1/invoices/{invoice_id}{path}", headers=stranger.auth)
        assert response.status_code == 404
        assert response.json()["code"] == "invoice_not_found"
    listed = (await api.get("/v1/invoices", headers=stranger.auth)).json()
    assert listed["data"] == []
    assert (await api.get("/v1/invoices/nonsense", headers=operator.auth)).status_code == 404


async def test_a_parent_sees_its_partners_invoices(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    partner = make_child(database_url, operator.organisation_id)
    invoice_id = make_invoice(
        database_url, make_account(database_url, partner.organisation_id), [Line("x", 100)]
    )
    assert (await api.get(f"/v1/invoices/{invoice_id}", headers=operator.auth)).status_code == 200
    assert (await api.get(f"/v1/invoices/{invoice_id}", headers=partner.auth)).status_code == 200


async def test_spanish_invoice_document(api: httpx.AsyncClient, operator: Tenant, database_url: str) -> None:
    account_id = make_account(database_url, operator.organisation_id, tax_id="12345678Z")
    invoice_id = make_invoice(database_url, account_id, SPANISH_LINES, due_date=date(2026, 4, 30))
    html = (await api.get(f"/v1/invoices/{invoice_id}.html", headers=operator.auth)).text
    for text in (
        "Factura INV-000001",
        "Test Operator",
        "Ana Ruiz",
        "Calle Mayor 1",
        "28013 Madrid",
        "NIF: 12345678Z",
        "30/04/2026",
        "01/04/2026",
        "01/03/2026 \u2013 31/03/2026",
        "1.020,30 €",
        "7,50 €",
        "21 %",
        "10 %",
        "ES-standard (21 %)",
        "214,26 €",
        "1.035,30 €",
        "215,76 €",
        "1.251,06 €",
        "Base imponible",
    ):
        assert text in html, text
    assert "€1" not in html and "Invoice" not in html


async def test_english_invoice_pdf(api: httpx.AsyncClient, operator: Tenant, database_url: str) -> None:
    account_id = make_account(database_url, operator.organisation_id, language="en", display_name="Ann Rose")
    invoice_id = make_invoice(database_url, account_id, SPANISH_LINES)
    response = await api.get(f"/v1/invoices/{invoice_id}.pdf", headers=operator.auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = _pdf_text(response.content, None)
    if text is None:  # no poppler here: the HTML the PDF is made from must say it
        text = (await api.get(f"/v1/invoices/{invoice_id}.html", headers=operator.auth)).text
    for expected in ("Invoice INV-000001", "Ann Rose", "€1,020.30", "€1,251.06", "1 Apr 2026", "Tax summary"):
        assert expected.lower() in text.lower(), expected


async def test_branding_from_the_issuer(operator: Tenant, database_url: str) -> None:
    from activities.invoices.documents import invoice_html
    from activities.invoices.reads import visible_invoice

    invoice_id = make_invoice(
        database_url, make_account(database_url, operator.organisation_id), [Line("x", 100)]
    )
    with unit_of_work(database_url) as session:
        org = session.get(Organisation, operator.organisation_id)
        assert org is not None
        principal = Principal("key", org.id, org.path, Role.ADMIN)
        invoice = visible_invoice(session, principal, invoice_id)
        html = invoice_html(session, invoice, {"colour": "#aa0011", "logo_text": "TELCO"})
        sneaky = invoice_html(session, invoice, {"colour": "red;}</style><script>", "logo_text": "<b>x</b>"})
    assert "#aa0011" in html and ">TELCO<" in html
    assert "<script>" not in sneaky and "&lt;b&gt;x&lt;/b&gt;" in sneaky and "#12355b" in sneaky
