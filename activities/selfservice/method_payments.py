"""A subscriber paying an invoice with a method the account already has: its SEPA mandate (a debit
queued for the next collection file) or its mobile-money number (a push to the phone). The payments
area's collector makes the gateway call and records the outcome, as for a collection attempt; the
payment settles later (the SEPA collection, the mobile-money callback), once."""

from __future__ import annotations

from sqlalchemy import select

from activities.invoices.credit_notes import issuer_for
from activities.payments.collector import Collector
from activities.payments.methods import GatewayDown
from activities.selfservice.card_payments import CardPayment, payable_invoice
from domain.errors import Conflict, RuleViolation
from domain.ids import new_id
from domain.subscribers import Subscriber
from integrations.payments.base import GatewayRegistry, GatewayUnavailable
from models.accounts import Account
from models.base import unit_of_work
from models.payments import Payment, PaymentMethod

GATEWAYS = {"sepa_debit": "sepa", "mobile_money": "mobile_money"}


def pay_with_method(
    url: str, gateways: GatewayRegistry, subscriber: Subscriber, invoice_id: str, kind: str, key: str
) -> CardPayment:
    """The invoice's pending payment by ``kind`` (reused while pending), asked of its gateway."""
    gateway_name = GATEWAYS[kind]
    with unit_of_work(url) as session:
        invoice, due = payable_invoice(session, subscriber, invoice_id)  # not theirs: 404 before all else
        try:
            gateways.get(gateway_name)
        except LookupError:
            raise RuleViolation("method_unavailable", f"this operator takes no {kind} payments") from None
        method = session.scalars(
            select(PaymentMethod)
            .where(
                PaymentMethod.account_id == invoice.account_id,
                PaymentMethod.gateway == gateway_name,
                PaymentMethod.status == "active",
            )
            .order_by(PaymentMethod.is_default.desc(), PaymentMethod.id)
            .limit(1)
        ).first()
        if method is None:
            raise Conflict(
                f"no_{kind}_method", f"your account has no {kind.replace('_', ' ')} method to pay with"
            )
        payment = session.scalars(
            select(Payment).where(
                Payment.invoice_id == invoice.id,
                Payment.gateway == gateway_name,
                Payment.status == "pending",
                Payment.idempotency_key.startswith("me:", autoescape=True),
            )
        ).first()
        existed = payment is not None
        if payment is None:
            account = session.get(Account, invoice.account_id)
            assert account is not None
            payment = Payment(
                id=new_id("pay"),
                organisation_id=issuer_for(session, account),
                account_id=invoice.account_id,
                method_id=method.id,
                kind=method.kind,
                amount_minor=due,
                currency=invoice.currency,
                status="pending",
                gateway=gateway_name,
                idempotency_key=f"me:{subscriber.login_id}:{invoice.id}:{key}",
                attempt=1,
                invoice_id=invoice.id,
                unallocated_minor=0,
                refunded_minor=0,
            )
            session.add(payment)
            session.flush()
        session.expunge(payment)
    collector = Collector(url, gateways)
    try:
        result = collector.call_gateway(payment, existed)
    except GatewayUnavailable as exc:
        raise GatewayDown("gateway_unavailable", str(exc)) from exc
    recorded = collector.record(payment.id, result)
    return CardPayment(
        payment_id=payment.id,
        invoice_id=invoice_id,
        status=recorded.status,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        decline_code=result.decline_code,
        message=result.message or None,
    )
