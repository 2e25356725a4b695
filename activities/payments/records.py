"""Recording payments: settle (allocate + ledger), fail, and read open invoices — inside the caller's
transaction. Every function here is safe to repeat: a payment settles once (row lock + status)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.invoices.reads import credited_minor
from activities.payments.events import record_payment_event
from activities.shared.ledger import post_entry
from domain.errors import NotFound
from domain.ledger import payment_entry, refund_entry
from domain.payments import (
    PAYABLE_INVOICE_STATES,
    AllocationPlan,
    OpenInvoice,
    allocate,
    invoice_status_after,
    open_amount,
)
from models.billing import Invoice
from models.payments import Payment, PaymentAllocation, Refund


def today() -> datetime:
    return datetime.now(UTC)


def lock_payment(session: Session, payment_id: str) -> Payment:
    payment = session.execute(
        select(Payment).where(Payment.id == payment_id).with_for_update()
    ).scalar_one_or_none()
    if payment is None:
        raise NotFound("payment", payment_id)
    return payment


def payment_by_key(session: Session, key: str, *, lock: bool = False) -> Payment | None:
    stmt = select(Payment).where(Payment.idempotency_key == key)
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def open_invoices(session: Session, account_id: str, *, lock: bool = True) -> list[Invoice]:
    """The account's invoices that can still take money, oldest first (locked for this transaction)."""
    stmt = (
        select(Invoice)
        .where(Invoice.account_id == account_id, Invoice.status.in_(sorted(PAYABLE_INVOICE_STATES)))
        .order_by(Invoice.issue_date, Invoice.id)
    )
    if lock:
        stmt = stmt.with_for_update()
    return list(session.execute(stmt).scalars())


def as_open(session: Session, invoices: Sequence[Invoice]) -> list[OpenInvoice]:
    credited = credited_minor(session, [inv.id for inv in invoices])
    return [
        OpenInvoice(
            invoice_id=inv.id,
            currency=inv.currency,
            open_minor=open_amount(inv.total_minor, inv.paid_minor, credited.get(inv.id, 0)),
            issue_date=inv.issue_date,
            status=inv.status,
        )
        for inv in invoices
    ]


def plan_for(
    session: Session, account_id: str, amount_minor: int, currency: str, chosen: list[str] | None
) -> tuple[AllocationPlan, dict[str, Invoice]]:
    """Where the money goes (raises RuleViolation for a wrong currency or an invoice not payable)."""
    invoices = open_invoices(session, account_id)
    by_id = {inv.id: inv for inv in invoices}
    if chosen is None:
        invoices = [inv for inv in invoices if inv.currency == currency]
    return allocate(amount_minor, currency, as_open(session, invoices), chosen), by_id


def apply_plan(
    session: Session, payment: Payment, plan: AllocationPlan, invoices: dict[str, Invoice]
) -> None:
    credited = credited_minor(session, [a.invoice_id for a in plan.allocations])
    for alloc in plan.allocations:
        invoice = invoices[alloc.invoice_id]
        session.add(
            PaymentAllocation(payment_id=payment.id, invoice_id=invoice.id, amount_minor=alloc.amount_minor)
        )
        invoice.paid_minor += alloc.amount_minor
        invoice.status = invoice_status_after(
            invoice.status, invoice.total_minor, invoice.paid_minor, credited.get(invoice.id, 0)
        )
    payment.unallocated_minor = plan.unallocated_minor
    session.flush()


def post_payment(session: Session, payment: Payment) -> None:
    post_entry(
        session,
        organisation_id=payment.organisation_id,
        customer_id=payment.account_id,
        kind="payment",
        source_id=payment.id,
        currency=payment.currency,
        booked_on=today().date(),
        postings=payment_entry(payment.account_id, payment.currency, payment.amount_minor, payment.gateway),
        key=f"payment:{payment.id}",
        memo=f"{payment.kind} payment {payment.gateway_reference or ''}".strip(),
    )


def settle(
    session: Session, payment: Payment, *, gateway_reference: str | None, chosen: list[str] | None = None
) -> bool:
    """Mark a pending payment succeeded, allocate it and post it to the ledger; False if it was not pending.

    A collection payment goes to its invoice when that invoice can still take money, else to credit.
    """
    if payment.status != "pending":
        return False
    payment.status = "succeeded"
    payment.gateway_reference = gateway_reference or payment.gateway_reference
    if chosen is None and payment.invoice_id is not None:
        payable = {inv.id for inv in open_invoices(session, payment.account_id)}
        chosen = [payment.invoice_id] if payment.invoice_id in payable else []
    plan, invoices = plan_for(session, payment.account_id, payment.amount_minor, payment.currency, chosen)
    apply_plan(session, payment, plan, invoices)
    post_payment(session, payment)
    record_payment_event(session, "payment.succeeded", payment)
    return True


def fail(session: Session, payment: Payment, *, decline_code: str | None, message: str) -> bool:
    if payment.status != "pending":
        return False
    payment.status = "failed"
    payment.decline_code = decline_code
    payment.failure_message = message[:2000]
    session.flush()
    record_payment_event(session, "payment.failed", payment, failure_message=payment.failure_message)
    return True


def live_allocations(session: Session, payment_id: str) -> list[PaymentAllocation]:
    stmt = (
        select(PaymentAllocation)
        .where(PaymentAllocation.payment_id == payment_id)
        .order_by(PaymentAllocation.id)
    )
    return [a for a in session.execute(stmt).scalars() if a.amount_minor > a.reversed_minor]


def post_refund(session: Session, payment: Payment, refund: Refund) -> None:
    post_entry(
        session,
        organisation_id=payment.organisation_id,
        customer_id=payment.account_id,
        kind="refund",
        source_id=refund.id,
        currency=payment.currency,
        booked_on=today().date(),
        postings=refund_entry(payment.account_id, payment.currency, refund.amount_minor, payment.gateway),
        key=f"refund:{refund.id}",
        memo=f"refund of {payment.id}",
    )
