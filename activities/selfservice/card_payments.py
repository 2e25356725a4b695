"""A subscriber paying an invoice by card at the browser: a pending payment (one per invoice while it is
pending, whatever the tab or the retry) and its PaymentIntent, confirmed by Stripe.js; then the outcome,
settled exactly once by the payments area's own script — from the Stripe webhook
(activities/payments/stripe_webhooks.py) or from ``confirm_card_payment`` after Stripe.js returns,
whichever comes first (the payment's row lock and status make the second one a no-op)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.invoices.credit_notes import issuer_for
from activities.invoices.reads import credited_minor
from activities.payments import records as store
from activities.payments.gateway_webhooks import settled
from activities.payments.methods import GatewayDown, settings_row
from domain.errors import Conflict, NotFound, RuleViolation
from domain.ids import new_id
from domain.payments import PAYABLE_INVOICE_STATES, open_amount
from domain.subscribers import Subscriber
from integrations.payments import stripe_browser
from integrations.payments.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    GatewayRegistry,
    GatewayUnavailable,
)
from integrations.payments.stripe_gateway import StripeGateway
from models.accounts import Account
from models.base import unit_of_work
from models.billing import Invoice
from models.payments import Payment

CARD_GATEWAY = "stripe"


@dataclass(frozen=True)
class CardPayment:
    payment_id: str
    invoice_id: str | None
    status: str
    amount_minor: int
    currency: str
    client_secret: str | None = None
    decline_code: str | None = None
    message: str | None = None
    paid_invoice_ids: tuple[str, ...] = ()


def stripe_of(gateways: GatewayRegistry) -> StripeGateway:
    try:
        gateway = gateways.get(CARD_GATEWAY)
    except LookupError:
        gateway = None
    if not isinstance(gateway, StripeGateway):
        raise RuleViolation("card_payments_unavailable", "this operator takes no card payments online")
    return gateway


def payable_invoice(session: Session, subscriber: Subscriber, invoice_id: str) -> tuple[Invoice, int]:
    """The subscriber's invoice, locked, and what it still owes; 409 when nothing can be paid on it."""
    invoice = session.execute(
        select(Invoice).where(Invoice.id == invoice_id).with_for_update()
    ).scalar_one_or_none()
    if invoice is None or invoice.status == "draft" or not subscriber.may_see(invoice.account_id):
        raise NotFound("invoice", invoice_id)
    if invoice.status == "void":
        raise Conflict("invoice_void", f"invoice {invoice.number} is void: there is nothing to pay")
    due = open_amount(
        invoice.total_minor, invoice.paid_minor, credited_minor(session, [invoice.id]).get(invoice.id, 0)
    )
    if invoice.status not in PAYABLE_INVOICE_STATES or due <= 0:
        raise Conflict("invoice_paid", f"invoice {invoice.number} is already paid")
    return invoice, due


def _pending_for(session: Session, invoice_id: str) -> Payment | None:
    return session.execute(
        select(Payment)
        .where(
            Payment.invoice_id == invoice_id,
            Payment.gateway == CARD_GATEWAY,
            Payment.status == "pending",
            Payment.idempotency_key.startswith("me:", autoescape=True),
        )
        .order_by(Payment.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def _out(payment: Payment, **extra: object) -> CardPayment:
    return CardPayment(
        payment_id=payment.id,
        invoice_id=payment.invoice_id,
        status=payment.status,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        decline_code=payment.decline_code,
        message=payment.failure_message,
        **extra,  # type: ignore[arg-type]
    )


def open_card_payment(
    url: str, gateways: GatewayRegistry, subscriber: Subscriber, invoice_id: str, key: str
) -> CardPayment:
    """The pending card payment of the invoice (reused while pending; else a new one for what is due)
    and its PaymentIntent's client secret for Stripe.js."""
    with unit_of_work(url) as session:
        invoice, due = payable_invoice(session, subscriber, invoice_id)  # not theirs: 404 before all else
        gateway = stripe_of(gateways)
        payment = _pending_for(session, invoice.id)
        if payment is None or payment.amount_minor != due:
            if payment is not None:  # the amount due moved (a credit note): that intent is abandoned
                store.fail(session, payment, decline_code="superseded", message="the amount due changed")
            account = session.get(Account, invoice.account_id)
            assert account is not None
            payment = Payment(
                id=new_id("pay"),
                organisation_id=issuer_for(session, account),
                account_id=invoice.account_id,
                kind="card",
                amount_minor=due,
                currency=invoice.currency,
                status="pending",
                gateway=CARD_GATEWAY,
                idempotency_key=f"me:{subscriber.login_id}:{invoice.id}:{key}",
                attempt=1,
                invoice_id=invoice.id,
                unallocated_minor=0,
                refunded_minor=0,
            )
            session.add(payment)
            session.flush()
        customer = settings_row(session, invoice.account_id).gateway_customer.get(CARD_GATEWAY)
        account = session.get(Account, invoice.account_id)
        assert account is not None
        email, name = account.email, account.display_name
        payment_id, reference, pay_key = payment.id, payment.gateway_reference, payment.idempotency_key
        amount, currency, account_id = payment.amount_minor, payment.currency, payment.account_id
    try:
        if customer is None:  # the intent carries the customer Stripe.js saves cards on
            customer = remember_customer(url, gateway, account_id, email, name)
        if reference is not None:
            intent = stripe_browser.browser_payment(gateway, reference)
        else:
            intent = stripe_browser.open_browser_payment(
                gateway,
                key=pay_key,
                amount_minor=amount,
                currency=currency,
                account_id=account_id,
                customer=customer,
                metadata={"payment_id": payment_id, "invoice_id": invoice_id},
            )
    except GatewayUnavailable as exc:
        raise GatewayDown("gateway_unavailable", str(exc)) from exc
    with unit_of_work(url) as session:
        locked = store.lock_payment(session, payment_id)
        if locked.gateway_reference is None:
            locked.gateway_reference = intent.id
        return _out(locked, client_secret=intent.client_secret)


def _attempt(gateway: StripeGateway, payment: Payment, reference: str, token: str | None) -> ChargeResult:
    """Confirm the intent with the card Stripe.js tokenised (``token``), or read what Stripe.js did."""
    if token is None:
        return stripe_browser.outcome(gateway, reference)
    request = ChargeRequest(
        idempotency_key=payment.idempotency_key,
        account_id=payment.account_id,
        invoice_id=payment.invoice_id,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        method_token=token,
        description=f"invoice {payment.invoice_id}",
        metadata={"payment_id": payment.id},
    )
    return gateway.complete_charge(reference, request)


def confirm_card_payment(
    url: str, gateways: GatewayRegistry, subscriber: Subscriber, payment_id: str, token: str | None = None
) -> CardPayment:
    """After Stripe.js returns: confirm the intent with the card it tokenised (``token``: a ``pm_…``), or
    read the intent Stripe.js confirmed itself; then settle (or fail) the payment, once."""
    with unit_of_work(url) as session:
        payment = session.get(Payment, payment_id) if payment_id.startswith("pay_") else None
        if payment is None or payment.gateway != CARD_GATEWAY or not subscriber.may_see(payment.account_id):
            raise NotFound("payment", payment_id)
        reference, status = payment.gateway_reference, payment.status
        session.expunge(payment)
    if status != "pending" or reference is None:
        with unit_of_work(url) as session:
            return _out(store.lock_payment(session, payment_id))
    try:
        result = _attempt(stripe_of(gateways), payment, reference, token)
    except GatewayUnavailable as exc:
        raise GatewayDown("gateway_unavailable", str(exc)) from exc
    with unit_of_work(url) as session:
        payment = store.lock_payment(session, payment_id)
        paid: tuple[str, ...] = ()
        if result.status is ChargeStatus.SUCCEEDED:
            paid = settled(session, payment, gateway_reference=reference).paid_invoice_ids
        elif result.status in (ChargeStatus.DECLINED, ChargeStatus.FAILED):
            store.fail(session, payment, decline_code=result.decline_code, message=result.message)
        return _out(payment, paid_invoice_ids=paid)


def remember_customer(url: str, gateway: StripeGateway, account_id: str, email: str, name: str) -> str:
    """The account's Stripe customer, made once and kept with its payment settings."""
    customer = stripe_browser.ensure_customer(gateway, account_id=account_id, email=email, name=name)
    with unit_of_work(url) as session:
        row = settings_row(session, account_id)
        if CARD_GATEWAY not in row.gateway_customer:
            row.gateway_customer = {**row.gateway_customer, CARD_GATEWAY: customer}
        return str(row.gateway_customer[CARD_GATEWAY])


def open_setup(
    url: str, gateways: GatewayRegistry, subscriber: Subscriber, key: str
) -> stripe_browser.BrowserIntent:
    """A SetupIntent on the account's Stripe customer (made once), for Stripe.js to save a card."""
    gateway = stripe_of(gateways)
    with unit_of_work(url) as session:
        account = session.get(Account, subscriber.account_id)
        if account is None:
            raise NotFound("account", subscriber.account_id)
        customer = settings_row(session, account.id).gateway_customer.get(CARD_GATEWAY)
        email, name = account.email, account.display_name
    try:
        if customer is None:
            customer = remember_customer(url, gateway, subscriber.account_id, email, name)
        return stripe_browser.open_card_setup(
            gateway, key=f"me-setup:{subscriber.login_id}:{key}", customer=customer
        )
    except GatewayUnavailable as exc:
        raise GatewayDown("gateway_unavailable", str(exc)) from exc
