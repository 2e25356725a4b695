"""Refunds: never above what was paid minus what was already refunded.

1. One transaction: lock the payment, check the limit, reserve the amount (``refunded_minor``) and
   write a pending refund (unique per idempotency key, so a retried request refunds once).
2. The gateway refund (outside any transaction).
3. One transaction: on success post ``refund_entry`` to the ledger and take the money back from account
   credit first, then from the newest allocations (invoices reopen); on failure release the reservation.
"""

from __future__ import annotations

from sqlalchemy import select

from activities.invoices.reads import credited_minor
from activities.payments import records as store
from activities.payments.events import record_payment_event
from activities.payments.io import RefundInput
from activities.payments.manual import visible_payment
from activities.payments.methods import GatewayDown
from domain.errors import RuleViolation
from domain.ids import new_id
from domain.payments import (
    Allocation,
    check_refund,
    invoice_status_after,
    payment_status_after_refund,
    unwind_refund,
)
from domain.principal import Principal
from integrations.payments.base import GatewayRegistry, GatewayUnavailable, RefundRequest, RefundResult
from models.base import unit_of_work
from models.billing import Invoice
from models.payments import Refund


def _reserve(url: str, principal: Principal, request: RefundInput) -> tuple[Refund, str, str, bool]:
    with unit_of_work(url) as session:
        payment = visible_payment(session, principal, request.payment_id, lock=True)
        existing = session.execute(
            select(Refund).where(Refund.idempotency_key == request.key)
        ).scalar_one_or_none()
        if existing is not None:
            if existing.payment_id != payment.id:
                raise RuleViolation(
                    "idempotency_key_reused", "this key was used for another payment's refund"
                )
            return existing, payment.gateway, payment.gateway_reference or "", True
        check_refund(payment.amount_minor, payment.refunded_minor, request.amount_minor, payment.status)
        refund = Refund(
            id=new_id("rfd"),
            payment_id=payment.id,
            amount_minor=request.amount_minor,
            currency=payment.currency,
            status="pending",
            reason=request.reason,
            idempotency_key=request.key,
        )
        payment.refunded_minor += request.amount_minor  # reserved until the gateway answers
        session.add(refund)
        session.flush()
        return refund, payment.gateway, payment.gateway_reference or "", False


def _finish(url: str, refund_id: str, result: RefundResult) -> Refund:
    with unit_of_work(url) as session:
        refund = session.execute(select(Refund).where(Refund.id == refund_id).with_for_update()).scalar_one()
        payment = store.lock_payment(session, refund.payment_id)
        if refund.status != "pending":
            return refund
        refund.gateway_reference = result.gateway_reference
        if result.status == "failed":
            refund.status = "failed"
            payment.refunded_minor -= refund.amount_minor
            return refund
        if result.status == "pending":
            return refund
        refund.status = "succeeded"
        live = store.live_allocations(session, payment.id)
        from_credit, taken = unwind_refund(
            refund.amount_minor,
            payment.unallocated_minor,
            [Allocation(a.invoice_id, a.amount_minor - a.reversed_minor) for a in live],
        )
        payment.unallocated_minor -= from_credit
        by_invoice = {a.invoice_id: a for a in live}
        credited = credited_minor(session, [t.invoice_id for t in taken])
        for take in taken:
            by_invoice[take.invoice_id].reversed_minor += take.amount_minor
            invoice = session.execute(
                select(Invoice).where(Invoice.id == take.invoice_id).with_for_update()
            ).scalar_one()
            invoice.paid_minor -= take.amount_minor
            status = "issued" if invoice.status == "paid" else invoice.status
            invoice.status = invoice_status_after(
                status, invoice.total_minor, invoice.paid_minor, credited.get(invoice.id, 0)
            )
        payment.status = payment_status_after_refund(payment.amount_minor, payment.refunded_minor)
        store.post_refund(session, payment, refund)
        record_payment_event(
            session, "payment.refunded", payment, refund_id=refund.id, refund_amount_minor=refund.amount_minor
        )
        return refund


def refund_payment(url: str, gateways: GatewayRegistry, principal: Principal, request: RefundInput) -> Refund:
    refund, gateway_name, reference, existed = _reserve(url, principal, request)
    if existed and refund.status != "pending":
        return refund
    if gateway_name == "manual":
        result = RefundResult(status="succeeded", gateway_reference=f"manual-refund:{refund.id}")
    else:
        try:
            result = gateways.get(gateway_name).refund(
                RefundRequest(
                    idempotency_key=f"refund:{refund.id}",
                    gateway_reference=reference,
                    amount_minor=refund.amount_minor,
                    currency=refund.currency,
                )
            )
        except GatewayUnavailable as exc:
            raise GatewayDown("gateway_unavailable", f"{exc}; retry with the same Idempotency-Key") from exc
    return _finish(url, refund.id, result)
