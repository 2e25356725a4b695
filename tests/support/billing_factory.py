"""Factories for billing tests: an account and an issued invoice inserted directly, with its ledger entry.

The invoice is numbered by ``allocate_numbers`` (series INV of the issuing organisation), taxed by
``domain.tax.compute_tax`` and posted with ``domain.ledger.invoice_entry`` (revenue per line kind,
tax per rate code), as the bill run does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from activities.invoices.numbers import INVOICE_SERIES, allocate_numbers
from activities.shared.ledger import post_entry
from domain.ids import new_id
from domain.ledger import invoice_entry
from domain.money import Money
from domain.tax import TaxableLine, TaxRate, TaxStatus, compute_tax
from models.accounts import Account
from models.base import unit_of_work
from models.billing import Invoice, InvoiceLine


@dataclass(frozen=True)
class Line:
    description: str
    amount_minor: int
    rate: str = "ES-standard"
    percent: str = "21"
    kind: str = "video"
    quantity: str = "1"
    unit_price: str | None = None
    period: tuple[date, date] | None = (date(2026, 3, 1), date(2026, 3, 31))


MIXED_LINES = [
    Line("Fibra 600 Mb", 3000, kind="broadband"),
    Line("Televisión", 1500, kind="video"),
    Line("Libro digital", 999, rate="ES-super-reduced", percent="4", kind="content"),
]
# 21%: 4500 * 0.21 = 945 (line shares 630 + 315); 4%: 999 * 0.04 = 39.96 -> 40. Net 5499, tax 985, total 6484.


def make_account(database_url: str, organisation_id: str, **overrides: Any) -> str:
    fields: dict[str, Any] = {
        "id": new_id("acc"),
        "organisation_id": organisation_id,
        "type": "person",
        "display_name": "Ana Ruiz",
        "given_name": "Ana",
        "family_name": "Ruiz",
        "email": f"ana.{uuid.uuid4().hex[:8]}@example.com",
        "language": "es",
        "currency": "EUR",
        "timezone": "Europe/Madrid",
        "addresses": [
            {
                "kind": "billing",
                "line1": "Calle Mayor 1",
                "city": "Madrid",
                "postal_code": "28013",
                "country": "ES",
            }
        ],
    }
    fields.update(overrides)
    with unit_of_work(database_url) as session:
        session.add(Account(**fields))
    return str(fields["id"])


def make_invoice(
    database_url: str,
    account_id: str,
    lines: list[Line],
    *,
    currency: str = "EUR",
    status: str = "issued",
    issue_date: date = date(2026, 4, 1),
    due_date: date = date(2026, 4, 15),
    paid_minor: int = 0,
    tax_status: TaxStatus = TaxStatus.TAXABLE,
    post: bool = True,
) -> str:
    """An issued invoice with ``lines`` (net amounts, tax-exclusive) and its ledger entry; returns its id."""
    result = compute_tax(
        [
            TaxableLine(Money(li.amount_minor, currency), TaxRate(li.rate, Decimal(li.percent)))
            for li in lines
        ],
        currency,
        status=tax_status,
    )
    with unit_of_work(database_url) as session:
        account = session.get(Account, account_id)
        assert account is not None
        issuer = account.organisation_id
        invoice = Invoice(
            id=new_id("inv"),
            organisation_id=issuer,
            account_id=account_id,
            number=allocate_numbers(session, issuer, INVOICE_SERIES, 1)[0],
            status=status,
            currency=currency,
            issue_date=issue_date,
            due_date=due_date,
            period_start=lines[0].period[0] if lines[0].period else None,
            period_end=lines[0].period[1] if lines[0].period else None,
            net_minor=result.net.amount_minor,
            tax_minor=result.tax.amount_minor,
            total_minor=result.gross.amount_minor,
            paid_minor=paid_minor,
            tax_inclusive=False,
            tax_reason=result.reason,
            taxes=[
                {
                    "code": r.rate.code,
                    "percent": str(r.rate.percent),
                    "net_minor": r.net.amount_minor,
                    "tax_minor": r.tax.amount_minor,
                    "reason": r.reason,
                }
                for r in result.by_rate
            ],
        )
        session.add(invoice)
        session.flush()
        revenue: dict[str, int] = {}
        taxes: dict[str, int] = {}
        for position, (li, tax) in enumerate(zip(lines, result.lines, strict=True), start=1):
            session.add(
                InvoiceLine(
                    invoice_id=invoice.id,
                    issue_date=invoice.issue_date,
                    position=position,
                    kind=li.kind,
                    description=li.description,
                    period_start=li.period[0] if li.period else None,
                    period_end=li.period[1] if li.period else None,
                    quantity=li.quantity,
                    unit_price=li.unit_price or str(Money(li.amount_minor, currency).to_decimal()),
                    amount_minor=tax.net.amount_minor,
                    tax_rate=li.rate,
                    tax_percent=li.percent,
                    tax_minor=tax.tax.amount_minor,
                )
            )
            revenue[li.kind] = revenue.get(li.kind, 0) + tax.net.amount_minor
            taxes[li.rate] = taxes.get(li.rate, 0) + tax.tax.amount_minor
        if post:
            post_entry(
                session,
                organisation_id=issuer,
                customer_id=account_id,
                kind="invoice",
                source_id=invoice.id,
                currency=currency,
                booked_on=issue_date,
                key=f"invoice:{invoice.id}",
                postings=invoice_entry(account_id, currency, revenue, {k: v for k, v in taxes.items() if v}),
            )
        return invoice.id
