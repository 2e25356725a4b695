"""Reading invoices and credit notes within the caller's subtree, and what each invoice still owes.

Visibility follows the customer: an invoice or credit note is visible when its account belongs to an
organisation in the caller's subtree; anything else is reported as not found.

Stored signs: invoice lines and totals are positive; credit note lines and totals are negative (the
lines of the invoice they reverse, negated). ``InvoiceLine.amount_minor`` is the line's net amount and
``tax_minor`` its share of the rate's tax, so a line's gross is their sum.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from activities.shared.pagination import decode_cursor, encode_cursor, fetch_page
from activities.shared.visibility import within_subtree
from domain.errors import NotFound
from domain.ids import is_valid_id
from domain.principal import Principal
from models.billing import CreditNote, Invoice, InvoiceLine


@dataclass(frozen=True)
class RateTotals:
    """One tax rate's totals on a document: net base and tax (both signed as stored)."""

    tax_rate: str
    tax_percent: str
    net_minor: int
    tax_minor: int

    @property
    def gross_minor(self) -> int:
        return self.net_minor + self.tax_minor


def visible_invoice(
    session: Session, principal: Principal, invoice_id: str, *, lock: bool = False
) -> Invoice:
    if not is_valid_id(invoice_id, "inv"):
        raise NotFound("invoice", invoice_id)
    stmt = within_subtree(select(Invoice).where(Invoice.id == invoice_id), principal, Invoice.account_id)
    if lock:
        stmt = stmt.with_for_update(of=Invoice)
    invoice = session.execute(stmt).scalar_one_or_none()
    if invoice is None:
        raise NotFound("invoice", invoice_id)
    return invoice


def visible_credit_note(session: Session, principal: Principal, credit_note_id: str) -> CreditNote:
    if not is_valid_id(credit_note_id, "crn"):
        raise NotFound("credit_note", credit_note_id)
    stmt = within_subtree(
        select(CreditNote).where(CreditNote.id == credit_note_id), principal, CreditNote.account_id
    )
    note = session.execute(stmt).scalar_one_or_none()
    if note is None:
        raise NotFound("credit_note", credit_note_id)
    return note


def list_invoices(
    session: Session,
    principal: Principal,
    *,
    account_id: str | None,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Invoice], str | None]:
    """A page of visible invoices, oldest first (ids sort by creation), and the next cursor."""
    stmt = within_subtree(select(Invoice), principal, Invoice.account_id)
    if account_id is not None:
        stmt = stmt.where(Invoice.account_id == account_id)
    if status is not None:
        stmt = stmt.where(Invoice.status == status)
    if cursor:
        stmt = stmt.where(Invoice.id > decode_cursor(cursor, "inv"))
    rows, more = fetch_page(session, stmt.order_by(Invoice.id), limit)
    return rows, encode_cursor(rows[-1].id) if more and rows else None


def list_credit_notes(
    session: Session,
    principal: Principal,
    *,
    account_id: str | None,
    invoice_id: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[CreditNote], str | None]:
    """A page of the credit notes of accounts in the caller's subtree, oldest first, and the next cursor."""
    stmt = within_subtree(select(CreditNote), principal, CreditNote.account_id)
    if account_id is not None:
        stmt = stmt.where(CreditNote.account_id == account_id)
    if invoice_id is not None:
        stmt = stmt.where(CreditNote.invoice_id == invoice_id)
    if cursor:
        stmt = stmt.where(CreditNote.id > decode_cursor(cursor, "crn"))
    rows, more = fetch_page(session, stmt.order_by(CreditNote.id), limit)
    return rows, encode_cursor(rows[-1].id) if more and rows else None


def invoice_lines(session: Session, invoice_id: str) -> list[InvoiceLine]:
    stmt = select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id).order_by(InvoiceLine.position)
    return list(session.execute(stmt).scalars())


def rate_totals(lines: list[tuple[str, str, int, int]]) -> list[RateTotals]:
    """Totals per (rate code, percent) from ``(code, percent, net, tax)`` rows, sorted by code."""
    net: dict[tuple[str, str], int] = defaultdict(int)
    tax: dict[tuple[str, str], int] = defaultdict(int)
    for code, percent, net_minor, tax_minor in lines:
        key = (code, format(Decimal(percent).normalize(), "f") if percent else "0")
        net[key] += net_minor
        tax[key] += tax_minor
    return [
        RateTotals(code, percent, net[(code, percent)], tax[(code, percent)]) for code, percent in sorted(net)
    ]


def invoice_rate_totals(lines: list[InvoiceLine]) -> list[RateTotals]:
    return rate_totals([(li.tax_rate, li.tax_percent, li.amount_minor, li.tax_minor) for li in lines])


def note_rate_totals(notes: list[CreditNote]) -> list[RateTotals]:
    rows = [
        (str(li["tax_rate"]), str(li["tax_percent"]), int(li["amount_minor"]), int(li["tax_minor"]))
        for note in notes
        for li in note.lines
    ]
    return rate_totals(rows)


def credit_notes_for(session: Session, invoice_id: str) -> list[CreditNote]:
    stmt = select(CreditNote).where(CreditNote.invoice_id == invoice_id).order_by(CreditNote.id)
    return list(session.execute(stmt).scalars())


def credited_minor(session: Session, invoice_ids: list[str]) -> dict[str, int]:
    """How much has been credited on each invoice (positive), by invoice id."""
    if not invoice_ids:
        return {}
    stmt = (
        select(CreditNote.invoice_id, func.coalesce(func.sum(CreditNote.total_minor), 0))
        .where(CreditNote.invoice_id.in_(invoice_ids))
        .group_by(CreditNote.invoice_id)
    )
    return {str(invoice_id): -int(total) for invoice_id, total in session.execute(stmt)}


__all__ = [
    "RateTotals",
    "credit_notes_for",
    "credited_minor",
    "invoice_lines",
    "invoice_rate_totals",
    "list_credit_notes",
    "list_invoices",
    "note_rate_totals",
    "rate_totals",
    "visible_credit_note",
    "visible_invoice",
]
