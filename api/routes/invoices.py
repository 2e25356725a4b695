"""/v1/invoices: list, read (JSON, HTML, PDF) and void (a full credit note; the invoice is never edited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from activities.invoices import documents
from activities.invoices.reads import (
    credit_notes_for,
    credited_minor,
    invoice_lines,
    invoice_rate_totals,
    list_invoices,
    note_rate_totals,
    visible_invoice,
)
from activities.invoices.void import void_invoice
from api.deps import IdempotentWriteDep, SessionDep, StaffDep
from api.docs import file_response, problem_response
from api.schemas.common import Page
from api.schemas.invoices import (
    CreditNoteOut,
    InvoiceLineOut,
    InvoiceOut,
    InvoiceSummary,
    VoidOut,
    VoidRequest,
)
from models.billing import INVOICE_STATES, CreditNote, Invoice

router = APIRouter(prefix="/v1/invoices", tags=["invoices"])
_LINE_FIELDS = tuple(InvoiceLineOut.model_fields)
STATUS_PATTERN = "^(" + "|".join(INVOICE_STATES) + ")$"


def invoice_summary(invoice: Invoice, credited: int) -> dict[str, Any]:
    fields = {name: getattr(invoice, name) for name in InvoiceSummary.model_fields if hasattr(invoice, name)}
    due = invoice.total_minor - invoice.paid_minor - credited
    return {**fields, "credited_minor": credited, "amount_due_minor": 0 if invoice.status == "void" else due}


def invoice_out(session: Session, invoice: Invoice) -> dict[str, Any]:
    lines = invoice_lines(session, invoice.id)
    notes = credit_notes_for(session, invoice.id)
    credited = -sum(note.total_minor for note in notes)
    body = {
        **invoice_summary(invoice, credited),
        "lines": [{k: getattr(li, k) for k in _LINE_FIELDS} for li in lines],
        "taxes": [vars(r) for r in invoice_rate_totals(lines)],
        "credit_note_ids": [note.id for note in notes],
    }
    return InvoiceOut.model_validate(body).model_dump(mode="json")


def credit_note_out(note: CreditNote) -> dict[str, Any]:
    fields = {name: getattr(note, name) for name in CreditNoteOut.model_fields if name != "taxes"}
    fields["taxes"] = [vars(r) for r in note_rate_totals([note])]
    return CreditNoteOut.model_validate(fields).model_dump(mode="json")


@router.get("", response_model=Page[InvoiceSummary], summary="List invoices in your organisation's subtree")
def list_all(
    principal: StaffDep,
    session: SessionDep,
    account_id: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(pattern=STATUS_PATTERN)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    rows, next_cursor = list_invoices(
        session, principal, account_id=account_id, status=status, cursor=cursor, limit=limit
    )
    credited = credited_minor(session, [row.id for row in rows])
    data = [invoice_summary(row, credited.get(row.id, 0)) for row in rows]
    out = [InvoiceSummary.model_validate(row).model_dump(mode="json") for row in data]
    return {"data": out, "next_cursor": next_cursor, "has_more": next_cursor is not None}


@router.get("/{invoice_id}.html", response_class=HTMLResponse, summary="The invoice document as HTML")
def get_html(invoice_id: str, principal: StaffDep, session: SessionDep) -> HTMLResponse:
    return HTMLResponse(documents.invoice_html(session, visible_invoice(session, principal, invoice_id)))


@router.get(
    "/{invoice_id}.pdf",
    response_class=Response,
    responses={200: file_response("application/pdf", "The invoice as PDF")},
    summary="The invoice document as PDF, in the account's language",
)
def get_pdf(invoice_id: str, principal: StaffDep, session: SessionDep) -> Response:
    invoice = visible_invoice(session, principal, invoice_id)
    return pdf_response(documents.invoice_html(session, invoice), invoice.number)


def pdf_response(html: str, number: str | None) -> Response:
    """A document rendered to PDF, shown inline under its number."""
    return Response(
        documents.html_to_pdf(html),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{number}.pdf"'},
    )


@router.get("/{invoice_id}", response_model=InvoiceOut, summary="Get an invoice with its lines and taxes")
def get_one(invoice_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    return invoice_out(session, visible_invoice(session, principal, invoice_id))


@router.post(
    "/{invoice_id}/void",
    response_model=VoidOut,
    summary="Void an invoice: a credit note reverses it in full and posts the reversing ledger entry",
    responses={409: problem_response("already void (`invoice_void`), paid (`invoice_paid`) or a draft")},
)
def void(
    invoice_id: str, principal: StaffDep, write: IdempotentWriteDep, body: VoidRequest | None = None
) -> Response:
    def produce(session: Session) -> dict[str, Any]:
        invoice = visible_invoice(session, principal, invoice_id, lock=True)
        note = void_invoice(session, invoice, description=body.description if body else None)
        return {"invoice": invoice_out(session, invoice), "credit_note": note and credit_note_out(note)}

    return write(body or {}, produce, status=200)
