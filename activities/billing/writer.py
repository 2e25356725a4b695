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
from domain.ids import new_ids
from domain.invoice_extras import ChargeSpan
from domain.invoicing import DraftLine, ServiceSpan
from domain.ledger import Posting, invoice_entry
from domain.periods import Period
from domain.tax import LineTax, RateTotal, TaxRate, TaxResult
from models.base import utcnow
from models.bulk import any_of, copy_lines, copy_rows, escape
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
    if sum(abs(a) for a in amounts) <= BIGINT_MAX:  # a posting sums some of these: it fits too
        return None
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


NULL = "\\N"


def _date(value: date | None) -> str:
    return NULL if value is None else value.isoformat()


def _opt(value: str | None) -> str:
    return NULL if value is None else escape(value)


def _line_row(invoice_id: str, issued: str, position: int, line: DraftLine, rate: TaxRate, tax: int) -> str:
    """An invoice line in COPY's text format (``LINE_COLUMNS``); free text escaped, ids and codes too."""
    return (
        f"{invoice_id}\t{issued}\t{position}\t{escape(line.subscription_id)}\t{_opt(line.service_id)}\t"
        f"{escape(line.kind)}\t{escape(line.description[:300])}\t{_date(line.start)}\t{_date(line.end)}\t"
        f"{line.quantity}\t{line.unit_price}\t{line.amount.amount_minor}\t{escape(rate.code)}\t"
        f"{rate.percent}\t{tax}"
    )


LINE_COLUMNS = (
    "invoice_id",
    "issue_date",
    "position",
    "subscription_id",
    "service_id",
    "kind",
    "description",
    "period_start",
    "period_end",
    "quantity",
    "unit_price",
    "amount_minor",
    "tax_rate",
    "tax_percent",
    "tax_minor",
)
BILLED_COLUMNS = ("subscription_id", "line_id", "service_id", "period_start", "period_end", "invoice_id")
ENTRY_COLUMNS = (
    "id",
    "organisation_id",
    "account_id",
    "kind",
    "source_id",
    "currency",
    "booked_on",
    "memo",
    "idempotency_key",
    "created_at",
)


def _invoice_row(
    draft: InvoiceDraft, operator: str, invoice_id: str, number: str, run_id: str | None
) -> dict[str, Any]:
    account, tax = draft.account, draft.tax
    starts = [ln.start for ln in draft.lines if ln.start]
    ends = [ln.end for ln in draft.lines if ln.end]
    return {
        "id": invoice_id,
        "organisation_id": operator,
        "account_id": account.id,
        "number": number,
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


def write_invoices(
    session: Session, operator: str, run_id: str | None, drafts: list[InvoiceDraft]
) -> list[str]:
    """Insert the page's invoices; the unique (line, period) guard refuses anything billed before.

    Every row but the invoices' is formatted straight into COPY's text format (a bill run writes about
    eight rows per invoice: a generic per-value formatter was a fifth of a page's CPU)."""
    billable = [d for d in drafts if d.lines]
    numbers = allocate_numbers(session, operator, "INV", len(billable)) if billable else []
    invoice_ids = new_ids("inv", len(billable))
    entry_ids = new_ids("jrn", len(billable))
    invoices: list[dict[str, Any]] = []
    lines: list[str] = []
    billed: list[str] = []
    entries: list[str] = []
    postings: list[str] = []
    charges: list[dict[str, Any]] = []
    charged: list[dict[str, Any]] = []
    now = utcnow()
    created = now.isoformat()
    index = 0
    for draft in drafts:
        if draft.credits:
            note_id = write_credit_note(session, operator, run_id, draft)
            charges += [{"id": cid, "status": "invoiced", "invoice_id": note_id} for cid in draft.credit_ids]
        invoice_id = invoice_ids[index] if draft.lines else ""
        for sub_id, span, period in draft.periods:
            billed.append(
                f"{escape(sub_id)}\t{escape(span.line_id)}\t{_opt(span.service_id)}\t"
                f"{period.start.isoformat()}\t{period.end.isoformat()}\t{invoice_id}"
            )
        charged += billed_charge_rows(draft.charged, invoice_id)
        if not draft.lines:
            continue
        number, entry_id = numbers[index], entry_ids[index]
        index += 1
        account, tax = draft.account, draft.tax
        invoices.append(_invoice_row(draft, operator, invoice_id, number, run_id))
        issued = draft.issue_date.isoformat()
        for position, (line, line_tax) in enumerate(zip(draft.lines, tax.lines, strict=True), start=1):
            rate = draft.rates[line.tax_category]
            lines.append(_line_row(invoice_id, issued, position, line, rate, line_tax.tax.amount_minor))
        entries.append(
            f"{entry_id}\t{escape(operator)}\t{escape(account.id)}\tinvoice\t{invoice_id}\t"
            f"{escape(account.currency)}\t{issued}\tinvoice {number}\tinvoice:{invoice_id}\t{created}"
        )
        for p in _ledger(draft):
            postings.append(
                f"{entry_id}\t{escape(p.ledger_account)}\t{_opt(p.customer_id)}\t{p.debit_minor}\t"
                f"{p.credit_minor}\t{escape(p.currency)}\t{issued}"
            )
        charges += [
            {"id": cid, "status": "invoiced", "invoice_id": invoice_id}
            for cid in draft.charge_ids
            if cid not in draft.credit_ids
        ]
    copy_dicts(session, "invoices", invoices, created_at=now)
    copy_lines(session, "invoice_lines", LINE_COLUMNS, lines)
    copy_lines(session, "ledger_entries", ENTRY_COLUMNS, entries)
    copy_lines(session, "ledger_postings", POSTING_COLUMNS, postings)
    copy_lines(session, "billed_periods", BILLED_COLUMNS, billed)
    copy_dicts(session, "billed_charges", charged)
    if charges:
        session.execute(update(PendingCharge), charges)
    usage_ids = [uid for draft in drafts if draft.lines for uid in draft.usage_ids]
    if usage_ids:
        session.execute(update(RatedUsage).where(any_of(RatedUsage.id, usage_ids)).values(status="invoiced"))
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
