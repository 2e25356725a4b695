"""Voiding an invoice: it is never edited, it is reversed by a credit note and its status becomes void.

The credit note's lines are the invoice's lines negated, and its ledger entry reverses exactly what
the invoice's own entry posted (revenue per kind, tax per rate). When earlier credit notes already
credited part of the invoice, the void credits what remains at each tax rate instead. An invoice with
payments must be refunded first (409 ``invoice_paid``).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.events.outbox import record
from activities.events.snapshots import invoice_data
from activities.invoices.credit_notes import amounts_from_lines, insert_note, post_note, today_for
from activities.invoices.reads import (
    RateTotals,
    credit_notes_for,
    invoice_lines,
    invoice_rate_totals,
    note_rate_totals,
)
from domain.errors import Conflict
from domain.events import BusinessEvent
from domain.ledger import RECEIVABLE
from models.accounts import Account
from models.billing import CreditNote, Invoice, InvoiceLine, LedgerEntry, LedgerPosting

UNPAYABLE_STATES = ("paid", "partially_paid")


def _check_voidable(invoice: Invoice) -> None:
    if invoice.status == "void":
        raise Conflict("invoice_void", f"invoice {invoice.number} is already void")
    if invoice.status == "draft":
        raise Conflict(
            "invoice_not_issued", f"invoice {invoice.id} is a draft; only issued invoices are credited"
        )
    if invoice.paid_minor or invoice.status in UNPAYABLE_STATES:
        raise Conflict(
            "invoice_paid", f"invoice {invoice.number} has payments; refund them before voiding it"
        )


def _invoice_posting_amounts(
    session: Session, invoice: Invoice
) -> tuple[dict[str, int], dict[str, int]] | None:
    """Revenue per kind and tax per rate as the invoice's own ledger entry posted them (None: no entry)."""
    stmt = (
        select(LedgerPosting)
        .join(LedgerEntry, LedgerEntry.id == LedgerPosting.entry_id)
        .where(LedgerEntry.kind == "invoice", LedgerEntry.source_id == invoice.id)
    )
    postings = list(session.execute(stmt).scalars())
    if not postings:
        return None
    revenue: dict[str, int] = defaultdict(int)
    taxes: dict[str, int] = defaultdict(int)
    for p in postings:
        if p.ledger_account == RECEIVABLE:
            continue
        family, _, name = p.ledger_account.partition(":")
        target = revenue if family == "revenue" else taxes
        target[name] += p.credit_minor - p.debit_minor
    return dict(revenue), dict(taxes)


def void_invoice(session: Session, invoice: Invoice, *, description: str | None = None) -> CreditNote | None:
    """Void a (locked) issued invoice: a credit note for everything not yet credited, then status void.

    Returns the credit note, or None when earlier credit notes had already credited the whole invoice.
    """
    _check_voidable(invoice)
    account = session.get(Account, invoice.account_id)
    assert account is not None
    earlier = credit_notes_for(session, invoice.id)
    lines = invoice_lines(session, invoice.id)
    if earlier:
        note_lines = _remainder_lines(invoice_rate_totals(lines), note_rate_totals(earlier))
    else:
        note_lines = [negated_line(li) for li in lines]
    invoice.status = "void"
    data = invoice_data(invoice)
    record(session, BusinessEvent("invoice.voided", account.organisation_id, "invoice", invoice.id, data))
    if not note_lines:
        return None
    note = insert_note(
        session,
        issuer=invoice.organisation_id,
        account_id=invoice.account_id,
        invoice_id=invoice.id,
        reason="void",
        description=description or f"Voids invoice {invoice.number}",
        currency=invoice.currency,
        issue_date=today_for(account),
        lines=note_lines,
        key=f"void:{invoice.id}",
    )
    posted = None if earlier else _invoice_posting_amounts(session, invoice)
    post_note(session, note, *(posted or amounts_from_lines(note_lines)))
    return note


def negated_line(li: InvoiceLine) -> dict[str, Any]:
    return {
        "position": li.position,
        "description": li.description,
        "kind": li.kind,
        "subscription_id": li.subscription_id,
        "invoice_line_id": li.id,
        "period_start": li.period_start.isoformat() if li.period_start else None,
        "period_end": li.period_end.isoformat() if li.period_end else None,
        "quantity": str(-Decimal(li.quantity)),
        "unit_price": li.unit_price,
        "amount_minor": -li.amount_minor,
        "tax_rate": li.tax_rate,
        "tax_percent": li.tax_percent,
        "tax_minor": -li.tax_minor,
    }


def _remainder_lines(invoiced: list[RateTotals], credited: list[RateTotals]) -> list[dict[str, Any]]:
    done = {(r.tax_rate, r.tax_percent): r for r in credited}
    lines: list[dict[str, Any]] = []
    for rate in invoiced:
        before = done.get((rate.tax_rate, rate.tax_percent))
        net = rate.net_minor + (before.net_minor if before else 0)
        tax = rate.tax_minor + (before.tax_minor if before else 0)
        if net or tax:
            lines.append(
                {
                    "position": len(lines) + 1,
                    "description": f"Remaining balance at {rate.tax_rate}",
                    "kind": "void",
                    "quantity": "-1",
                    "unit_price": None,
                    "amount_minor": -net,
                    "tax_rate": rate.tax_rate,
                    "tax_percent": rate.tax_percent,
                    "tax_minor": -tax,
                }
            )
    return lines


__all__ = ["void_invoice"]
