"""Payments recorded by staff: cash taken by an outlet agent (with a receipt) and bank transfers.

The agent sees only accounts in their organisation's subtree (anything else is not found). The cash
gateway always succeeds; the receipt number is gapless per receiving organisation (series RCPT) and
is the gateway reference. Money is allocated oldest first or to the chosen invoices; the rest is credit.
"""

from __future__ import annotations

from html import escape
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.accounts.records import visible_account
from activities.invoices.credit_notes import issuer_for
from activities.invoices.numbers import allocate_numbers
from activities.payments import records as store
from domain.currency import minor_units
from domain.errors import NotFound, RuleViolation
from domain.ids import is_valid_id, new_id
from domain.money import Money
from domain.payments import check_currency
from domain.principal import Principal
from integrations.payments.base import ChargeRequest, ChargeStatus, GatewayRegistry
from models.accounts import Account
from models.billing import Invoice
from models.organisations import Organisation
from models.payments import Payment, PaymentAllocation

RECEIPT_SERIES = "RCPT"


class ManualPayment(BaseModel):
    account_id: str
    amount_minor: int = Field(gt=0)
    currency: str
    method: Literal["cash", "bank_transfer"] = "cash"
    allocation: Literal["oldest", "chosen"] = "oldest"
    invoice_ids: list[str] | None = None
    reference: str | None = None
    key: str


def record_manual_payment(
    session: Session, principal: Principal, gateways: GatewayRegistry, request: ManualPayment
) -> Payment:
    """Record money received; the whole thing (payment, allocation, ledger, receipt) is one transaction."""
    existing = store.payment_by_key(session, request.key)
    if existing is not None:
        return existing
    account = visible_account(session, principal, request.account_id, lock=True)
    check_currency(account.currency, request.currency)
    chosen = None
    if request.allocation == "chosen":
        if not request.invoice_ids:
            raise RuleViolation("invoice_ids_required", "name the invoices to pay", field="invoice_ids")
        chosen = list(request.invoice_ids)
    payment = Payment(
        id=new_id("pay"),
        organisation_id=issuer_for(session, account),
        account_id=account.id,
        kind=request.method,
        amount_minor=request.amount_minor,
        currency=request.currency,
        status="pending",
        gateway="cash" if request.method == "cash" else "manual",
        idempotency_key=request.key,
        attempt=1,
        received_by=principal.key_id,
        received_at_organisation_id=principal.organisation_id,
        unallocated_minor=0,
        refunded_minor=0,
    )
    if request.method == "cash":
        payment.receipt_number = allocate_numbers(session, principal.organisation_id, RECEIPT_SERIES, 1)[0]
        result = gateways.get("cash").charge(
            ChargeRequest(
                idempotency_key=request.key,
                account_id=account.id,
                amount_minor=request.amount_minor,
                currency=request.currency,
                method_token=f"{principal.organisation_id}:{payment.receipt_number}",
            )
        )
        assert result.status is ChargeStatus.SUCCEEDED
        reference = result.gateway_reference
    else:
        if not request.reference:
            raise RuleViolation(
                "reference_required", "a bank transfer needs its reference", field="reference"
            )
        reference = request.reference
    session.add(payment)
    session.flush()
    store.settle(session, payment, gateway_reference=reference, chosen=chosen)
    return payment


def visible_payment(
    session: Session, principal: Principal, payment_id: str, *, lock: bool = False
) -> Payment:
    if not is_valid_id(payment_id, "pay"):
        raise NotFound("payment", payment_id)
    stmt = (
        select(Payment)
        .join(Account, Account.id == Payment.account_id)
        .join(Organisation, Organisation.id == Account.organisation_id)
        .where(
            Payment.id == payment_id,
            Organisation.path.startswith(principal.organisation_path, autoescape=True),
        )
    )
    if lock:
        stmt = stmt.with_for_update(of=Payment)
    payment = session.execute(stmt).scalar_one_or_none()
    if payment is None:
        raise NotFound("payment", payment_id)
    return payment


def allocations_of(session: Session, payment_id: str) -> list[tuple[PaymentAllocation, Invoice]]:
    stmt = (
        select(PaymentAllocation, Invoice)
        .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
        .where(PaymentAllocation.payment_id == payment_id)
        .order_by(PaymentAllocation.id)
    )
    return [(a, i) for a, i in session.execute(stmt).all()]


def _money(amount_minor: int, currency: str) -> str:
    return f"{Money(amount_minor, currency).to_decimal():,.{minor_units(currency)}f} {currency}"


def receipt_html(session: Session, payment: Payment) -> str:
    """A printable receipt: who paid what, when, where, and which invoices it settled."""
    if payment.receipt_number is None:
        raise RuleViolation("no_receipt", f"payment {payment.id} is not a cash payment and has no receipt")
    account = session.get(Account, payment.account_id)
    outlet = session.get(Organisation, payment.received_at_organisation_id or "")
    assert account is not None
    rows = "".join(
        f"<tr><td>{escape(inv.number)}</td><td>{escape(_money(a.amount_minor, payment.currency))}</td></tr>"
        for a, inv in allocations_of(session, payment.id)
    )
    credit = (
        f"<p>Account credit: {escape(_money(payment.unallocated_minor, payment.currency))}</p>"
        if payment.unallocated_minor
        else ""
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Receipt {escape(payment.receipt_number)}</title></head><body>"
        f"<h1>Receipt {escape(payment.receipt_number)}</h1>"
        f"<p>Received at: {escape(outlet.name if outlet else '')}</p>"
        f"<p>Date: {payment.created_at:%Y-%m-%d %H:%M} UTC</p>"
        f"<p>Customer: {escape(account.display_name)} ({escape(account.id)})</p>"
        f"<p>Amount: <strong>{escape(_money(payment.amount_minor, payment.currency))}</strong> (cash)</p>"
        f"<table><thead><tr><th>Invoice</th><th>Paid</th></tr></thead><tbody>{rows}</tbody></table>"
        f"{credit}<p>Payment {escape(payment.id)}</p></body></html>"
    )
