"""Bill runs, invoices, credit notes and the double-entry ledger.

Invoices and credit notes are immutable once issued (a void invoice is reversed by a credit note);
ledger entries are append-only and balanced per currency (checked in domain/ledger.py and by the
database: a statement trigger refuses an unbalanced entry).

``invoice_lines`` (by its invoice's ``issue_date``) and ``ledger_postings`` (by its entry's
``booked_on``) are partitioned by month (models/partitions.py); each carries that copy of the date in
its primary key. Nothing references either table by foreign key.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

INVOICE_STATES = ("draft", "issued", "paid", "partially_paid", "overdue", "void", "written_off")


class BillingRun(Base):
    __tablename__ = "billing_runs"
    __table_args__ = (
        CheckConstraint("status in ('running','completed','failed','preview')", name="status"),
        Index("ix_billing_runs_cycle", "organisation_id", "bill_day", "period_date"),
        Index(
            "uq_billing_runs_running",
            "organisation_id",
            "bill_day",
            "period_date",
            "dry_run",
            unique=True,
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    bill_day: Mapped[int] = mapped_column(Integer, comment="1-28, or 31 for the last day of the month")
    period_date: Mapped[date] = mapped_column(Date, comment="bill everything due up to this local date")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="running")
    process_id: Mapped[str] = mapped_column(String(200), unique=True)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    amounts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    failures: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class BillingRunPage(Base):
    """What one page of a run billed, written in the page's own transaction: an attempt retried after
    the first one committed (its worker died before Temporal heard of it) answers this, exactly as the
    first would have, the accounts it looked at and its failures included (a terminated subscription the
    first attempt closed is no longer due, so a recount would miss its account)."""

    __tablename__ = "billing_run_pages"

    run_id: Mapped[str] = mapped_column(ForeignKey("billing_runs.id"), primary_key=True)
    until: Mapped[str] = mapped_column(String(64), primary_key=True, comment="the page's last account id")
    result: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InvoiceSequence(Base):
    """Gapless invoice numbers per issuing organisation and series (row-locked while numbering)."""

    __tablename__ = "invoice_sequences"

    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    series: Mapped[str] = mapped_column(String(16), primary_key=True)
    next_number: Mapped[int] = mapped_column(BigInteger, default=1)


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint(f"status in {INVOICE_STATES}", name="status"),
        UniqueConstraint("organisation_id", "number", name="uq_invoices_number"),
        Index("ix_invoices_account", "account_id", "id"),
        Index("ix_invoices_run", "billing_run_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), comment="the issuer")
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    number: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="issued")
    currency: Mapped[str] = mapped_column(String(3))
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    net_minor: Mapped[int] = mapped_column(BigInteger)
    tax_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_inclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    tax_reason: Mapped[str | None] = mapped_column(String(32))
    taxes: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, comment="totals per tax rate")
    billing_run_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        Index("ix_invoice_lines_invoice", "invoice_id"),
        {"postgresql_partition_by": "RANGE (issue_date)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    issue_date: Mapped[date] = mapped_column(
        Date, primary_key=True, comment="the invoice's issue date (the partition key, by month)"
    )
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))
    position: Mapped[int] = mapped_column(Integer)
    subscription_id: Mapped[str | None] = mapped_column(String(32))
    service_id: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(300))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[str] = mapped_column(String(40))
    unit_price: Mapped[str] = mapped_column(String(40))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    tax_rate: Mapped[str] = mapped_column(String(64))
    tax_percent: Mapped[str] = mapped_column(String(16))
    tax_minor: Mapped[int] = mapped_column(BigInteger)


class BilledPeriod(Base):
    """The last guard against billing twice: one row per service and period billed (a service's grid
    is its plan's, fixed, so one start names one period)."""

    __tablename__ = "billed_periods"
    __table_args__ = (
        UniqueConstraint("service_id", "period_start", name="uq_billed_periods_service_period"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(String(32), index=True)
    line_id: Mapped[str] = mapped_column(String(32))
    service_id: Mapped[str | None] = mapped_column(
        String(32), comment="the service billed; null only for a period no service matched (before 0012)"
    )
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    invoice_id: Mapped[str] = mapped_column(String(32))


class BilledCharge(Base):
    """The guard of a bill run's device rentals and bundle discounts: one row per line's rental period
    (``key`` the line) and per service's discounted period (``key`` the service)."""

    __tablename__ = "billed_charges"
    __table_args__ = (
        UniqueConstraint("charge", "key", "period_start", name="uq_billed_charges_charge_key_period"),
        CheckConstraint("charge in ('device_rental','discount')", name="charge"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(String(32), index=True)
    charge: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(32), comment="the line (rental) or the service (discount)")
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    invoice_id: Mapped[str] = mapped_column(String(32))


class CreditNote(Base):
    __tablename__ = "credit_notes"
    __table_args__ = (
        UniqueConstraint("organisation_id", "number", name="uq_credit_notes_number"),
        Index("ix_credit_notes_account", "account_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    invoice_id: Mapped[str | None] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(
        String(32), comment="void | downgrade | suspension | goodwill | refund"
    )
    description: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3))
    issue_date: Mapped[date] = mapped_column(Date)
    net_minor: Mapped[int] = mapped_column(BigInteger)
    tax_minor: Mapped[int] = mapped_column(BigInteger)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerEntry(Base):
    """A journal entry: one business event, balanced (debits = credits per currency), never edited."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_account", "account_id", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    account_id: Mapped[str | None] = mapped_column(String(32), comment="the customer the entry concerns")
    kind: Mapped[str] = mapped_column(
        String(32), comment="invoice | credit_note | payment | refund | wallet | write_off"
    )
    source_id: Mapped[str] = mapped_column(
        String(64), comment="the invoice, credit note, payment… it records"
    )
    currency: Mapped[str] = mapped_column(String(3))
    booked_on: Mapped[date] = mapped_column(Date)
    memo: Mapped[str | None] = mapped_column(String(300))
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerPosting(Base):
    __tablename__ = "ledger_postings"
    __table_args__ = (
        CheckConstraint(
            "debit_minor >= 0 and credit_minor >= 0 and (debit_minor = 0) <> (credit_minor = 0)",
            name="one_side",
        ),
        Index("ix_ledger_postings_entry", "entry_id"),
        Index("ix_ledger_postings_ledger_account", "ledger_account", "customer_id"),
        {"postgresql_partition_by": "RANGE (booked_on)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    booked_on: Mapped[date] = mapped_column(
        Date, primary_key=True, comment="the entry's booked_on (the partition key, by month)"
    )
    entry_id: Mapped[str] = mapped_column(ForeignKey("ledger_entries.id"))
    ledger_account: Mapped[str] = mapped_column(
        String(64), comment="receivable, revenue:video, tax:ES-standard…"
    )
    customer_id: Mapped[str | None] = mapped_column(String(32))
    debit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    credit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
