"""The bank's returns and rejects: mark the debits and their payments failed, reverse the ledger.

Each returned end-to-end id is processed once: the debit becomes ``returned`` with the SEPA reason
code; the payment the collection recorded for it (gateway ``sepa``, reference = end-to-end id) becomes
``failed``; every ledger entry of that payment is reversed by a new entry (the ledger is append-only),
and what the payment had allocated to invoices is taken off them again.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.payments.events import record_payment_event
from activities.shared.ledger import post_entry
from domain.ledger import Posting
from domain.principal import Principal
from domain.sepa_files import ReturnLine
from domain.wallets import reversal
from models.billing import Invoice, LedgerEntry, LedgerPosting
from models.organisations import Organisation
from models.payments import Payment, PaymentAllocation
from models.sepa import SepaDebit


class ReturnedDebit(BaseModel):
    end_to_end_id: str
    reason_code: str
    account_id: str
    amount_minor: int
    payment_id: str | None = None
    reversed_entries: list[str] = Field(default_factory=list)


class ReturnsResult(BaseModel):
    returned: list[ReturnedDebit] = Field(default_factory=list)
    already_returned: list[str] = Field(default_factory=list)
    unknown: list[str] = Field(default_factory=list)


def _postings(session: Session, entry_id: str) -> list[Posting]:
    rows = session.execute(select(LedgerPosting).where(LedgerPosting.entry_id == entry_id)).scalars()
    return [Posting(r.ledger_account, r.debit_minor, r.credit_minor, r.currency, r.customer_id) for r in rows]


def _reverse_payment(session: Session, payment: Payment, line: ReturnLine, today: date) -> list[str]:
    payment.status = "failed"
    payment.decline_code = line.reason_code
    payment.failure_message = f"SEPA return {line.reason_code}"
    record_payment_event(session, "payment.failed", payment, failure_message=payment.failure_message)
    entries = session.execute(
        select(LedgerEntry).where(LedgerEntry.source_id == payment.id, LedgerEntry.kind == "payment")
    ).scalars()
    reversed_ids = []
    for entry in list(entries):
        reversed_ids.append(
            post_entry(
                session,
                organisation_id=entry.organisation_id,
                customer_id=entry.account_id,
                kind="payment",
                source_id=payment.id,
                currency=entry.currency,
                booked_on=today,
                postings=reversal(_postings(session, entry.id)),
                key=f"sepa-return:{line.end_to_end_id}:{entry.id}",
                memo=f"SEPA return {line.reason_code} of {line.end_to_end_id}",
            )
        )
    allocations = session.execute(
        select(PaymentAllocation).where(PaymentAllocation.payment_id == payment.id)
    ).scalars()
    for allocation in allocations:
        invoice = session.get(Invoice, allocation.invoice_id, with_for_update=True)
        if invoice is not None:
            invoice.paid_minor = max(0, invoice.paid_minor - allocation.amount_minor)
            if invoice.status in ("paid", "partially_paid"):
                invoice.status = "partially_paid" if invoice.paid_minor else "issued"
    return reversed_ids


def import_returns(
    session: Session, principal: Principal, lines: list[ReturnLine], today: date
) -> ReturnsResult:
    result = ReturnsResult()
    for line in lines:
        debit = session.execute(
            select(SepaDebit)
            .join(Organisation, Organisation.id == SepaDebit.organisation_id)
            .where(
                SepaDebit.id == line.end_to_end_id,
                Organisation.path.startswith(principal.organisation_path, autoescape=True),
            )
            .with_for_update(of=SepaDebit)
        ).scalar_one_or_none()
        if debit is None:
            result.unknown.append(line.end_to_end_id)
            continue
        if debit.status == "returned":
            result.already_returned.append(debit.id)
            continue
        debit.status, debit.return_reason = "returned", line.reason_code
        payment = session.execute(
            select(Payment)
            .where(Payment.gateway == "sepa", Payment.gateway_reference == debit.id)
            .with_for_update()
        ).scalar_one_or_none()
        entries = _reverse_payment(session, payment, line, today) if payment is not None else []
        result.returned.append(
            ReturnedDebit(
                end_to_end_id=debit.id,
                reason_code=line.reason_code,
                account_id=debit.account_id,
                amount_minor=debit.amount_minor,
                payment_id=payment.id if payment else None,
                reversed_entries=entries,
            )
        )
    session.flush()
    return result
