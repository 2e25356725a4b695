"""Request and response bodies for invoices, credit notes, statements and the ledger."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from activities.invoices.credit_notes import CreditLineIn
from api.schemas.common import Currency, CurrencyBoundAmounts, PositiveAmountMinor, Strict


class TaxTotalOut(BaseModel):
    tax_rate: str
    tax_percent: str
    net_minor: int
    tax_minor: int


class InvoiceLineOut(BaseModel):
    position: int
    kind: str
    description: str
    subscription_id: str | None
    service_id: str | None
    period_start: date | None
    period_end: date | None
    quantity: str
    unit_price: str = Field(description="exact price per unit in major units (may carry more decimals)")
    amount_minor: int = Field(description="net amount of the line")
    tax_rate: str
    tax_percent: str
    tax_minor: int


class InvoiceSummary(BaseModel):
    id: str
    number: str
    organisation_id: str = Field(description="the issuing organisation")
    account_id: str
    status: str
    currency: str
    issue_date: date
    due_date: date
    period_start: date | None
    period_end: date | None
    net_minor: int
    tax_minor: int
    total_minor: int
    paid_minor: int
    credited_minor: int = Field(description="credited by credit notes against this invoice")
    amount_due_minor: int = Field(description="total - paid - credited")
    tax_inclusive: bool
    tax_reason: str | None
    billing_run_id: str | None
    created_at: datetime


class InvoiceOut(InvoiceSummary):
    lines: list[InvoiceLineOut]
    taxes: list[TaxTotalOut] = Field(description="totals per tax rate, from the lines")
    credit_note_ids: list[str]


class CreditNoteOut(BaseModel):
    id: str
    number: str
    organisation_id: str
    account_id: str
    invoice_id: str | None
    reason: str
    description: str | None
    currency: str
    issue_date: date
    net_minor: int = Field(description="negative: what the note takes off")
    tax_minor: int
    total_minor: int
    lines: list[dict[str, Any]]
    taxes: list[TaxTotalOut]
    created_at: datetime


class VoidRequest(Strict):
    description: str | None = Field(None, max_length=300)


class VoidOut(BaseModel):
    invoice: InvoiceOut
    credit_note: CreditNoteOut | None = Field(description="null when earlier notes had credited everything")


class CreditNoteCreate(Strict, CurrencyBoundAmounts):
    """A goodwill credit for an account, or a credit against one of its invoices (an amount or lines)."""

    account_id: str | None = Field(None, max_length=40)
    invoice_id: str | None = Field(None, max_length=40)
    currency: Currency | None = Field(None, description="default: the invoice's, else the account's")
    reason: Literal["goodwill", "downgrade", "suspension", "refund"] = "goodwill"
    description: str | None = Field(None, max_length=300)
    tax_inclusive: bool = Field(False, description="amounts include tax (the tax is computed out of them)")
    amount_minor: PositiveAmountMinor | None = Field(
        None, description="one credited amount, instead of lines"
    )
    tax_rate: str | None = Field(None, min_length=1, max_length=64, description="with amount_minor")
    tax_percent: Decimal | None = Field(None, ge=0, le=100, description="with amount_minor")
    lines: list[CreditLineIn] | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def one_way(self) -> CreditNoteCreate:
        if (self.amount_minor is None) == (self.lines is None):
            raise ValueError("send either amount_minor or lines")
        if self.account_id is None and self.invoice_id is None:
            raise ValueError("send account_id, invoice_id or both")
        return self

    def credit_lines(self) -> list[CreditLineIn]:
        if self.lines is not None:
            return self.lines
        assert self.amount_minor is not None
        return [
            CreditLineIn(
                description=self.description or self.reason.capitalize(),
                amount_minor=self.amount_minor,
                tax_rate=self.tax_rate,
                tax_percent=self.tax_percent,
            )
        ]


class StatementLine(BaseModel):
    entry_id: str
    kind: str
    source_id: str
    booked_on: date
    memo: str | None
    currency: str
    amount_minor: int = Field(description="positive: the customer owes more; negative: owes less")
    balance_minor: int = Field(description="running balance in this currency after the entry")


class Balance(BaseModel):
    currency: str
    amount_minor: int = Field(description="receivable: positive owed, negative in credit")


class AccountBalance(BaseModel):
    account_id: str
    balances: list[Balance]


class TrialBalanceRow(BaseModel):
    ledger_account: str
    currency: str
    debit_minor: int
    credit_minor: int
    balance_minor: int = Field(description="debits - credits")


class TrialBalance(BaseModel):
    rows: list[TrialBalanceRow]
    totals: list[Balance] = Field(description="per currency; zero when the ledger balances")
