"""/v1/me invoices and credit notes: list, read (JSON, or the PDF by ``.pdf`` or ``Accept:
application/pdf``), as the staff routes render them; another subscriber's is a 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.invoices import documents
from activities.invoices.reads import credited_minor
from activities.selfservice.access import own
from api.deps import SessionDep
from api.docs import file_response
from api.routes.invoices import credit_note_out, invoice_out, invoice_summary, pdf_response
from api.schemas.invoices import CreditNoteOut, InvoiceOut, InvoiceSummary
from api.subscriber_deps import SubscriberDep
from domain.errors import NotFound
from domain.subscribers import Subscriber
from models.billing import INVOICE_STATES, CreditNote, Invoice

router = APIRouter(prefix="/v1/me", tags=["self-service"])
SHOWN = tuple(s for s in INVOICE_STATES if s != "draft")  # a draft is not the subscriber's yet
STATUS_PATTERN = "^(" + "|".join(SHOWN) + ")$"
PDF: dict[int | str, dict[str, Any]] = {200: file_response("application/pdf", "The document as PDF")}


def own_invoice(session: Session, subscriber: Subscriber, invoice_id: str) -> Invoice:
    invoice = session.get(Invoice, invoice_id) if invoice_id.startswith("inv_") else None
    if invoice is None or invoice.status == "draft":
        raise NotFound("invoice", invoice_id)
    own(subscriber, "invoice", invoice_id, invoice.account_id)
    return invoice


def own_credit_note(session: Session, subscriber: Subscriber, credit_note_id: str) -> CreditNote:
    note = session.get(CreditNote, credit_note_id) if credit_note_id.startswith("crn_") else None
    if note is None:
        raise NotFound("credit_note", credit_note_id)
    own(subscriber, "credit_note", credit_note_id, note.account_id)
    return note


def wants_pdf(request: Request) -> bool:
    return "application/pdf" in request.headers.get("accept", "")


@router.get("/invoices", response_model=list[InvoiceSummary], summary="Your invoices, newest first")
def list_my_invoices(
    subscriber: SubscriberDep,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern=STATUS_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    stmt = select(Invoice).where(Invoice.account_id.in_(subscriber.account_ids), Invoice.status.in_(SHOWN))
    if status:
        stmt = stmt.where(Invoice.status == status)
    rows = list(session.scalars(stmt.order_by(Invoice.issue_date.desc(), Invoice.id.desc()).limit(limit)))
    credited = credited_minor(session, [row.id for row in rows])
    data = [invoice_summary(row, credited.get(row.id, 0)) for row in rows]
    return [InvoiceSummary.model_validate(row).model_dump(mode="json") for row in data]


@router.get("/invoices/{invoice_id}.pdf", response_class=Response, responses=PDF, summary="Invoice PDF")
def get_my_invoice_pdf(invoice_id: str, subscriber: SubscriberDep, session: SessionDep) -> Response:
    invoice = own_invoice(session, subscriber, invoice_id)
    return pdf_response(documents.invoice_html(session, invoice), invoice.number)


@router.get(
    "/invoices/{invoice_id}",
    response_model=InvoiceOut,
    responses=PDF,
    summary="One of your invoices with its lines and taxes (the PDF with Accept: application/pdf)",
)
def get_my_invoice(invoice_id: str, request: Request, subscriber: SubscriberDep, session: SessionDep) -> Any:
    invoice = own_invoice(session, subscriber, invoice_id)
    if wants_pdf(request):
        return pdf_response(documents.invoice_html(session, invoice), invoice.number)
    return invoice_out(session, invoice)


@router.get("/credit-notes", response_model=list[CreditNoteOut], summary="Your credit notes, newest first")
def list_my_credit_notes(
    subscriber: SubscriberDep, session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[dict[str, Any]]:
    stmt = select(CreditNote).where(CreditNote.account_id.in_(subscriber.account_ids))
    rows = session.scalars(stmt.order_by(CreditNote.id.desc()).limit(limit))
    return [credit_note_out(row) for row in rows]


@router.get(
    "/credit-notes/{credit_note_id}.pdf", response_class=Response, responses=PDF, summary="Credit note PDF"
)
def get_my_credit_note_pdf(credit_note_id: str, subscriber: SubscriberDep, session: SessionDep) -> Response:
    note = own_credit_note(session, subscriber, credit_note_id)
    return pdf_response(documents.credit_note_html(session, note), note.number)


@router.get(
    "/credit-notes/{credit_note_id}",
    response_model=CreditNoteOut,
    responses=PDF,
    summary="One of your credit notes (the PDF with Accept: application/pdf)",
)
def get_my_credit_note(
    credit_note_id: str, request: Request, subscriber: SubscriberDep, session: SessionDep
) -> Any:
    note = own_credit_note(session, subscriber, credit_note_id)
    if wants_pdf(request):
        return pdf_response(documents.credit_note_html(session, note), note.number)
    return credit_note_out(note)
