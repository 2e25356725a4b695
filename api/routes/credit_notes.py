"""/v1/credit-notes: goodwill credits and credits against an invoice; read as JSON, HTML or PDF."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.accounts.records import visible_account
from activities.invoices import documents
from activities.invoices.credit_notes import CreditRequest, issue_credit_note
from activities.invoices.reads import list_credit_notes, visible_credit_note, visible_invoice
from api.deps import IdempotentWriteDep, SessionDep, StaffDep
from api.docs import file_response
from api.routes.invoices import credit_note_out, pdf_response
from api.schemas.common import Page
from api.schemas.invoices import CreditNoteCreate, CreditNoteOut
from domain.errors import RuleViolation
from domain.principal import Principal
from models.accounts import Account
from models.billing import Invoice

router = APIRouter(prefix="/v1/credit-notes", tags=["credit notes"])


def _resolve(
    session: Session, principal: Principal, body: CreditNoteCreate
) -> tuple[Account, Invoice | None]:
    invoice = None
    if body.invoice_id is not None:
        invoice = visible_invoice(session, principal, body.invoice_id, lock=True)
        if body.account_id is not None and body.account_id != invoice.account_id:
            raise RuleViolation(
                "account_mismatch",
                f"invoice {invoice.number} is not account {body.account_id}'s",
                field="account_id",
            )
    account = visible_account(session, principal, invoice.account_id if invoice else str(body.account_id))
    return account, invoice


def _currency(session: Session, body: CreditNoteCreate, account: Account, invoice: Invoice | None) -> str:
    if invoice is not None:
        return body.currency or invoice.currency
    currency = body.currency or account.currency
    if currency != account.currency:
        billed = session.execute(
            select(Invoice.id).where(Invoice.account_id == account.id, Invoice.currency == currency).limit(1)
        ).first()
        if billed is None:
            raise RuleViolation(
                "currency_mismatch",
                f"account {account.id} is billed in {account.currency}, never in {currency}",
                field="currency",
            )
    return currency


@router.post(
    "",
    status_code=201,
    response_model=CreditNoteOut,
    summary="Issue a credit note (goodwill, or against an invoice up to what remains creditable)",
)
def create(body: CreditNoteCreate, principal: StaffDep, write: IdempotentWriteDep) -> Response:
    def produce(session: Session) -> dict[str, Any]:
        account, invoice = _resolve(session, principal, body)
        credit = CreditRequest(
            currency=_currency(session, body, account, invoice),
            reason=body.reason,
            description=body.description,
            tax_inclusive=body.tax_inclusive,
            lines=body.credit_lines(),
            key=f"api:{principal.organisation_id}:{write.key}",
        )
        return credit_note_out(issue_credit_note(session, credit, account, invoice))

    return write(body.model_dump(mode="json", exclude_unset=True), produce)


@router.get(
    "", response_model=Page[CreditNoteOut], summary="List credit notes in your organisation's subtree"
)
def list_all(
    principal: StaffDep,
    session: SessionDep,
    account_id: Annotated[str | None, Query(max_length=40)] = None,
    invoice_id: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    rows, next_cursor = list_credit_notes(
        session, principal, account_id=account_id, invoice_id=invoice_id, cursor=cursor, limit=limit
    )
    data = [credit_note_out(row) for row in rows]
    return {"data": data, "next_cursor": next_cursor, "has_more": next_cursor is not None}


@router.get("/{credit_note_id}.html", response_class=HTMLResponse, summary="The credit note as HTML")
def get_html(credit_note_id: str, principal: StaffDep, session: SessionDep) -> HTMLResponse:
    note = visible_credit_note(session, principal, credit_note_id)
    return HTMLResponse(documents.credit_note_html(session, note))


@router.get(
    "/{credit_note_id}.pdf",
    response_class=Response,
    responses={200: file_response("application/pdf", "The credit note as PDF")},
    summary="The credit note as PDF, in the account's language",
)
def get_pdf(credit_note_id: str, principal: StaffDep, session: SessionDep) -> Response:
    note = visible_credit_note(session, principal, credit_note_id)
    return pdf_response(documents.credit_note_html(session, note), note.number)


@router.get("/{credit_note_id}", response_model=CreditNoteOut, summary="Get a credit note")
def get_one(credit_note_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    return credit_note_out(visible_credit_note(session, principal, credit_note_id))
