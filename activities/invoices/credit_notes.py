"""Credit notes: partial and goodwill credits (voiding lives in activities/invoices/void.py).

A credit note's lines and totals are stored negative (what it takes off the customer's debt) and it
posts ``domain.ledger.credit_note_entry``: revenue per kind and tax per rate reversed, receivable
down. Credits against an invoice may not exceed what remains creditable at each of its tax rates.
Credit notes are numbered in the ``CN`` series of the issuing organisation, without gaps.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from activities.events.outbox import record
from activities.events.snapshots import account_organisation, credit_note_data
from activities.invoices.numbers import CREDIT_NOTE_SERIES, allocate_numbers
from activities.invoices.reads import (
    RateTotals,
    credit_notes_for,
    invoice_lines,
    invoice_rate_totals,
    note_rate_totals,
)
from activities.shared.ledger import post_entry
from domain.errors import Conflict, RuleViolation
from domain.events import BusinessEvent
from domain.ids import new_id
from domain.ledger import credit_note_entry
from domain.money import AmountMinor, Money, RoundingMode
from domain.tax import TaxableLine, TaxRate, TaxStatus, compute_tax
from models.accounts import Account
from models.billing import CreditNote, Invoice
from models.organisations import Organisation


class CreditLineIn(BaseModel):
    """A credited amount (positive): net, or gross when the request is tax-inclusive."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=300)
    amount_minor: Annotated[AmountMinor, Field(gt=0)]
    tax_rate: str | None = Field(
        None, min_length=1, max_length=64, description="rate code; default: the invoice's"
    )
    tax_percent: Decimal | None = Field(
        None, ge=0, le=100, description="needed when the rate is not the invoice's"
    )
    kind: str | None = Field(
        None, min_length=1, max_length=32, description="revenue kind; default: the reason"
    )


class CreditRequest(BaseModel):
    """What to credit; the account (and the invoice credited, if any) are resolved by the caller."""

    model_config = ConfigDict(extra="forbid")

    currency: str
    reason: str
    description: str | None = None
    tax_inclusive: bool = False
    lines: list[CreditLineIn]
    key: str


def today_for(account: Account) -> date:
    return datetime.now(ZoneInfo(account.timezone)).date()


def issuer_for(session: Session, account: Account) -> str:
    """Who issues an account's documents: the operator at the root of its tree (as the bill run does)."""
    org = session.get(Organisation, account.organisation_id)
    assert org is not None
    return org.path.strip("/").split("/")[0]


def _rounding(session: Session, organisation_id: str) -> RoundingMode:
    org = session.get(Organisation, organisation_id)
    return RoundingMode(org.rounding_mode) if org is not None else RoundingMode.HALF_UP


def insert_note(
    session: Session,
    *,
    issuer: str,
    account_id: str,
    invoice_id: str | None,
    reason: str,
    description: str | None,
    currency: str,
    issue_date: date,
    lines: list[dict[str, Any]],
    key: str,
) -> CreditNote:
    number = allocate_numbers(session, issuer, CREDIT_NOTE_SERIES, 1)[0]
    net = sum(int(li["amount_minor"]) for li in lines)
    tax = sum(int(li["tax_minor"]) for li in lines)
    note = CreditNote(
        id=new_id("crn"),
        organisation_id=issuer,
        account_id=account_id,
        invoice_id=invoice_id,
        number=number,
        reason=reason,
        description=description,
        currency=currency,
        issue_date=issue_date,
        net_minor=net,
        tax_minor=tax,
        total_minor=net + tax,
        lines=lines,
        idempotency_key=key,
    )
    session.add(note)
    session.flush()
    org = account_organisation(session, account_id)
    record(session, BusinessEvent("credit_note.issued", org, "credit_note", note.id, credit_note_data(note)))
    return note


def post_note(session: Session, note: CreditNote, revenue: dict[str, int], taxes: dict[str, int]) -> None:
    """The note's ledger entry (nothing to post when every amount is zero)."""
    if not any(revenue.values()) and not any(taxes.values()):
        return
    postings = credit_note_entry(note.account_id, note.currency, revenue, taxes)
    post_entry(
        session,
        organisation_id=note.organisation_id,
        customer_id=note.account_id,
        kind="credit_note",
        source_id=note.id,
        currency=note.currency,
        booked_on=note.issue_date,
        postings=postings,
        key=f"credit_note:{note.id}",
        memo=f"{note.number} ({note.reason})",
    )


def amounts_from_lines(lines: list[dict[str, Any]]) -> tuple[dict[str, int], dict[str, int]]:
    """Revenue per kind and tax per rate credited (positive) from a note's negative lines."""
    revenue: dict[str, int] = defaultdict(int)
    taxes: dict[str, int] = defaultdict(int)
    for li in lines:
        revenue[str(li["kind"])] -= int(li["amount_minor"])
        taxes[str(li["tax_rate"])] -= int(li["tax_minor"])
    return dict(revenue), {code: amount for code, amount in taxes.items() if amount}


def issue_credit_note(
    session: Session, request: CreditRequest, account: Account, invoice: Invoice | None
) -> CreditNote:
    """A partial or goodwill credit note; ``invoice`` (locked by the caller) is the one it credits, if any."""
    currency = request.currency
    if invoice is not None:
        if invoice.currency != currency:
            raise RuleViolation(
                "currency_mismatch",
                f"invoice {invoice.number} is in {invoice.currency}, not {currency}",
                field="currency",
            )
        if invoice.status == "void":
            raise Conflict("invoice_void", f"invoice {invoice.number} is void; nothing remains to credit")
        if invoice.status == "draft":
            raise Conflict("invoice_not_issued", f"invoice {invoice.id} is a draft")
    invoiced = invoice_rate_totals(invoice_lines(session, invoice.id)) if invoice is not None else []
    rates = [_rate_for(line, invoiced, invoice) for line in request.lines]
    status = _tax_status(
        invoice.tax_reason if invoice is not None and invoice.tax_reason else account.tax_status
    )
    issuer = invoice.organisation_id if invoice is not None else issuer_for(session, account)
    result = compute_tax(
        [
            TaxableLine(Money(li.amount_minor, currency), rate)
            for li, rate in zip(request.lines, rates, strict=True)
        ],
        currency,
        inclusive=request.tax_inclusive,
        status=status,
        mode=_rounding(session, issuer),
    )
    note_lines = [
        {
            "position": i + 1,
            "description": li.description,
            "kind": li.kind or request.reason,
            "quantity": "-1",
            "unit_price": str(tax.net.to_decimal()),
            "amount_minor": -tax.net.amount_minor,
            "tax_rate": rate.code,
            "tax_percent": str(rate.percent),
            "tax_minor": -tax.tax.amount_minor,
        }
        for i, (li, rate, tax) in enumerate(zip(request.lines, rates, result.lines, strict=True))
    ]
    if invoice is not None:
        _check_creditable(
            invoice, invoiced, note_rate_totals(credit_notes_for(session, invoice.id)), note_lines
        )
    note = insert_note(
        session,
        issuer=issuer,
        account_id=account.id,
        invoice_id=invoice.id if invoice is not None else None,
        reason=request.reason,
        description=request.description,
        currency=currency,
        issue_date=today_for(account),
        lines=note_lines,
        key=request.key,
    )
    post_note(session, note, *amounts_from_lines(note_lines))
    return note


def _tax_status(value: str) -> TaxStatus:
    return TaxStatus(value) if value in TaxStatus.__members__.values() else TaxStatus.TAXABLE


def _rate_for(line: CreditLineIn, invoiced: list[RateTotals], invoice: Invoice | None) -> TaxRate:
    if invoice is None:
        if line.tax_rate is None or line.tax_percent is None:
            raise RuleViolation(
                "tax_rate_required",
                "a credit without an invoice names its tax_rate and tax_percent (0 for none)",
                field="lines.tax_rate",
            )
        return TaxRate(line.tax_rate, line.tax_percent)
    codes = {r.tax_rate: r for r in invoiced}
    code = line.tax_rate
    if code is None:
        if len(codes) != 1:
            raise RuleViolation(
                "tax_rate_required",
                f"invoice {invoice.number} has {len(codes)} tax rates; name the rate each line credits",
                field="lines.tax_rate",
            )
        code = next(iter(codes))
    if code not in codes:
        raise RuleViolation(
            "tax_rate_not_on_invoice", f"invoice {invoice.number} has no {code} line", field="lines.tax_rate"
        )
    percent = Decimal(codes[code].tax_percent)
    if line.tax_percent is not None and line.tax_percent != percent:
        raise RuleViolation(
            "tax_rate_mismatch",
            f"{code} is {percent}% on invoice {invoice.number}",
            field="lines.tax_percent",
        )
    return TaxRate(code, percent)


def _check_creditable(
    invoice: Invoice, invoiced: list[RateTotals], credited: list[RateTotals], note_lines: list[dict[str, Any]]
) -> None:
    asked: dict[str, int] = defaultdict(int)
    for li in note_lines:
        asked[str(li["tax_rate"])] -= int(li["amount_minor"]) + int(li["tax_minor"])
    done = {r.tax_rate: -r.gross_minor for r in credited}
    for rate in invoiced:
        remaining = rate.gross_minor - done.get(rate.tax_rate, 0)
        if asked.get(rate.tax_rate, 0) > remaining:
            raise RuleViolation(
                "credit_exceeds_invoice",
                f"{Money(asked[rate.tax_rate], invoice.currency)} at {rate.tax_rate} is more than the "
                f"{Money(remaining, invoice.currency)} that remains creditable on invoice {invoice.number}",
            )


__all__ = [
    "CreditLineIn",
    "CreditRequest",
    "amounts_from_lines",
    "insert_note",
    "issue_credit_note",
    "issuer_for",
    "post_note",
    "today_for",
]
