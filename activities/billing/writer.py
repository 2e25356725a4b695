"""Writing a page of invoices in bulk: numbers, lines, billed periods, pending charges, ledger."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from activities.billing.extras import billed_charge_rows
from activities.billing.results import credit_key
from activities.events.outbox import record_many
from activities.events.snapshots import invoice_row_data
from activities.invoices.credit_notes import amounts_from_lines, insert_note, post_note
from activities.invoices.numbers import allocate_numbers
from domain.events import BusinessEvent
from domain.ids import new_id
from domain.invoice_extras import ChargeSpan
from domain.invoicing import DraftLine, ServiceSpan
from domain.ledger import Posting, invoice_entry
from domain.periods import Period
from domain.tax import LineTax, RateTotal, TaxRate, TaxResult
from models.base import utcnow
from models.bulk import copy_rows
from models.subscriptions import PendingCharge
from models.usage import RatedUsage


@dataclass
class InvoiceDraft:
    account: Any
    issue_date: date
    due_date: date
    lines: list[DraftLine]
    rates: dict[str, TaxRate]
    tax: TaxResult
    inclusive: bool
    periods: list[tuple[str, ServiceSpan, Period]]  # (subscription, service, period) billed by this invoice
    charge_ids: list[str]
    usage_ids: list[int] = field(default_factory=list)
    credits: list[DraftLine] = field(default_factory=list)
    credit_tax: TaxResult | None = None
    charged: list[tuple[str, ChargeSpan]] = field(default_factory=list)  # (subscription, rental/discount)

    @property
    def credit_ids(self) -> list[str]:
        return [line.charge_id for line in self.credits if line.charge_id]


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _ledger(draft: InvoiceDraft) -> list[Posting]:
    revenue: dict[str, int] = defaultdict(int)
    for line, line_tax in zip(draft.lines, draft.tax.lines, strict=True):
        revenue[line.revenue_kind] += line_tax.net.amount_minor
    taxes = {r.rate.code: r.tax.amount_minor for r in draft.tax.by_rate if r.tax.amount_minor}
    return invoice_entry(draft.account.id, draft.account.currency, dict(revenue), taxes)


BIGINT_MAX = 2**63 - 1  # the largest amount PostgreSQL's bigint columns (``*_minor``) hold


def _tax_amounts(tax: TaxResult | None) -> list[int]:
    if tax is None:
        return []
    totals: list[LineTax | RateTotal | TaxResult] = [*tax.lines, *tax.by_rate, tax]
    return [m.amount_minor for t in totals for m in (t.net, t.tax, t.gross)]


def too_large(draft: InvoiceDraft) -> str | None:
    """Why the draft cannot be stored, if an amount it writes (a line, a tax, a total, a ledger posting,
    of the invoice or of the credit note) is beyond bigint: a bill run then refuses the account rather
    than failing its whole page on the database's overflow."""
    amounts = [line.amount.amount_minor for line in draft.lines + draft.credits]
    amounts += _tax_amounts(draft.tax) + _tax_amounts(draft.credit_tax)
    if draft.lines and all(abs(a) <= BIGINT_MAX for a in amounts):  # postings sum the lines' amounts
        amounts += [p.debit_minor + p.credit_minor for p in _ledger(draft)]
    worst = max((abs(a) for a in amounts), default=0)
    if worst <= BIGINT_MAX:
        return None
    return f"amount_too_large: an amount of {worst} minor units exceeds the largest storable ({BIGINT_MAX})"


POSTING_COLUMNS = (
    "entry_id",
    "ledger_account",
    "customer_id",
    "debit_minor",
    "credit_minor",
    "currency",
    "booked_on",
)


def copy_dicts(session: Session, table: str, rows: list[dict[str, Any]], **extra: Any) -> None:
    if rows:
        columns = [*rows[0].keys(), *extra.keys()]
        copy_rows(session, table, columns, ([*row.values(), *extra.values()] for row in rows))


def write_credit_note(session: Session, operator: str, run_id: str | None, draft: InvoiceDraft) -> str:
    """Credits from plan changes, suspensions and terminations become one credit note, never edits."""
    assert draft.credit_tax is not None
    lines = []
    for position, (line, line_tax) in enumerate(
        zip(draft.credits, draft.credit_tax.lines, strict=True), start=1
    ):
        rate = draft.rates[line.tax_category]
        lines.append(
            {
                "position": position,
                "description": line.description,
                "kind": line.revenue_kind,
                "quantity": str(line.quantity),
                "unit_price": str(line.unit_price),
                "amount_minor": -line_tax.net.amount_minor,
                "tax_rate": rate.code,
                "tax_percent": str(rate.percent),
                "tax_minor": -line_tax.tax.amount_minor,
                "period_start": _iso(line.start),
                "period_end": _iso(line.end),
            }
        )
    key = credit_key(run_id, draft.credit_ids)
    note = insert_note(
        session,
        issuer=operator,
        account_id=draft.account.id,
        invoice_id=None,
        reason="proration",
        description="credits from plan changes, suspensions and terminations",
        currency=draft.account.currency,
        issue_date=draft.issue_date,
        lines=lines,
        key=key[:300],
    )
    revenue, taxes = amounts_from_lines(lines)
    post_note(session, note, revenue, taxes)
    return note.id


def write_invoices(
    session: Session, operator: str, run_id: str | None, drafts: list[InvoiceDraft]
) -> list[str]:
    """Insert the page's invoices; the unique (line, period) guard refuses anything billed before."""
    billable = [d for d in drafts if d.lines]
    numbers = allocate_numbers(session, operator, "INV", len(billable)) if billable else []
    invoices: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    billed: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    postings: list[tuple[str, date, Posting]] = []
    charges: list[dict[str, Any]] = []
    charged: list[dict[str, Any]] = []
    numbered = dict(zip((id(d) for d in billable), numbers, strict=True))
    for draft in drafts:
        if draft.credits:
            note_id = write_credit_note(session, operator, run_id, draft)
            charges += [{"id": cid, "status": "invoiced", "invoice_id": note_id} for cid in draft.credit_ids]
        invoice_id = new_id("inv") if draft.lines else ""
        for sub_id, span, period in draft.periods:
            billed.append(
                {
                    "subscription_id": sub_id,
                    "line_id": span.line_id,
                    "service_id": span.service_id,
                    "period_start": period.start,
                    "period_end": period.end,
                    "invoice_id": invoice_id,
                }
            )
        charged += billed_charge_rows(draft.charged, invoice_id)
        if not draft.lines:
            continue
        account, tax = draft.account, draft.tax
        starts = [ln.start for ln in draft.lines if ln.start]
        ends = [ln.end for ln in draft.lines if ln.end]
        invoices.append(
            {
                "id": invoice_id,
                "organisation_id": operator,
                "account_id": account.id,
                "number": numbered[id(draft)],
                "status": "issued",
                "currency": account.currency,
                "issue_date": draft.issue_date,
                "due_date": draft.due_date,
                "period_start": min(starts) if starts else None,
                "period_end": max(ends) if ends else None,
                "net_minor": tax.net.amount_minor,
                "tax_minor": tax.tax.amount_minor,
                "total_minor": tax.gross.amount_minor,
                "paid_minor": 0,
                "tax_inclusive": draft.inclusive,
                "tax_reason": tax.reason,
                "billing_run_id": run_id,
                "taxes": [
                    {
                        "code": r.rate.code,
                        "percent": str(r.rate.percent),
                        "net_minor": r.net.amount_minor,
                        "tax_minor": r.tax.amount_minor,
                        "reason": r.reason,
                    }
                    for r in tax.by_rate
                ],
            }
        )
        for position, (line, line_tax) in enumerate(zip(draft.lines, tax.lines, strict=True), start=1):
            rate = draft.rates[line.tax_category]
            lines.append(
                {
                    "invoice_id": invoice_id,
                    "issue_date": draft.issue_date,
                    "position": position,
                    "subscription_id": line.subscription_id,
                    "service_id": line.service_id,
                    "kind": line.kind,
                    "description": line.description[:300],
                    "period_start": line.start,
                    "period_end": line.end,
                    "quantity": str(line.quantity),
                    "unit_price": str(line.unit_price),
                    "amount_minor": line.amount.amount_minor,
                    "tax_rate": rate.code,
                    "tax_percent": str(rate.percent),
                    "tax_minor": line_tax.tax.amount_minor,
                }
            )
        entry_id = new_id("jrn")
        entries.append(
            {
                "id": entry_id,
                "organisation_id": operator,
                "account_id": account.id,
                "kind": "invoice",
                "source_id": invoice_id,
                "currency": account.currency,
                "booked_on": draft.issue_date,
                "memo": f"invoice {numbered[id(draft)]}",
                "idempotency_key": f"invoice:{invoice_id}",
            }
        )
        postings += [(entry_id, draft.issue_date, p) for p in _ledger(draft)]
        charges += [
            {"id": cid, "status": "invoiced", "invoice_id": invoice_id}
            for cid in draft.charge_ids
            if cid not in draft.credit_ids
        ]
    now = utcnow()
    copy_dicts(session, "invoices", invoices, created_at=now)
    copy_dicts(session, "invoice_lines", lines)
    copy_dicts(session, "ledger_entries", entries, created_at=now)
    posting_rows = [
        (e, p.ledger_account, p.customer_id, p.debit_minor, p.credit_minor, p.currency, booked)
        for e, booked, p in postings
    ]
    copy_rows(session, "ledger_postings", POSTING_COLUMNS, posting_rows)
    copy_dicts(session, "billed_periods", billed)
    copy_dicts(session, "billed_charges", charged)
    if charges:
        session.execute(update(PendingCharge), charges)
    usage_ids = [uid for draft in drafts if draft.lines for uid in draft.usage_ids]
    if usage_ids:
        session.execute(update(RatedUsage).where(RatedUsage.id.in_(usage_ids)).values(status="invoiced"))
    if EMIT_EVENTS:
        record_many(session, _issued_events(invoices, [d.account.organisation_id for d in billable]))
    return [row["id"] for row in invoices]


EMIT_EVENTS = True
"""Whether bill runs record ``invoice.issued`` events; always on, switched off only by bench/events.py
to measure what the outbox costs a bill run."""


def _issued_events(invoices: list[dict[str, Any]], organisations: list[str]) -> list[BusinessEvent]:
    return [
        BusinessEvent("invoice.issued", org, "invoice", row["id"], invoice_row_data(row))
        for row, org in zip(invoices, organisations, strict=True)
    ]
