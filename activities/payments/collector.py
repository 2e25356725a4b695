"""Collecting an invoice from the account's default method, exactly once per attempt.

1. One transaction: the invoice's open amount and the default method; a ``pending`` payment row with
   the idempotency key ``<invoice id>:attempt:<n>`` is written and committed BEFORE the gateway call.
2. The gateway call. A staged gateway (Stripe) opens the charge, its reference is stored on the pending
   payment, then the charge is attempted; a retry resolves that reference (confirming a charge that
   was never attempted, never taking it for a decline). Other gateways: if a pending payment with that
   key already existed (a retry after a crash or a timeout), the gateway is asked with ``lookup`` first
   and charged only if it never saw the key.
3. One transaction: the outcome is recorded — on success the payment is allocated to the invoice and
   posted to the ledger; on a decline it is marked failed with the gateway's code.
``GatewayUnavailable`` leaves the payment pending and propagates: the activity retries and resolves it.
So does a PENDING answer of a gateway that ``awaits_confirmation`` (mobile money: the subscriber has not
answered the prompt yet): the retry asks the gateway by ``lookup`` (a status query), never charges again.
"""

from __future__ import annotations

import time
from typing import Any, cast

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from activities.invoices.credit_notes import issuer_for
from activities.invoices.reads import credited_minor
from activities.payments import records as store
from activities.payments.io import CollectInput, CollectResult, CollectStatus
from domain.ids import new_id
from domain.payments import PAYABLE_INVOICE_STATES, collection_key, open_amount
from integrations.payments.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    GatewayRegistry,
    GatewayUnavailable,
    PaymentGateway,
    StagedGateway,
)
from models.accounts import Account
from models.base import unit_of_work
from models.billing import Invoice
from models.payments import AccountPaymentSettings, Payment, PaymentMethod


def _attempts_of(invoice_ids: list[str]) -> Any:
    """Collection attempts (payments keyed ``<invoice>:attempt:<n>``) of these invoices, per invoice."""
    return (
        select(
            Payment.invoice_id,
            func.max(Payment.attempt),
            func.min(Payment.attempt).filter(Payment.status == "pending"),
        )
        .where(
            Payment.invoice_id.in_(invoice_ids),
            Payment.idempotency_key == func.concat(Payment.invoice_id, ":attempt:", Payment.attempt),
        )
        .group_by(Payment.invoice_id)
    )


def next_attempts(session: Session, invoice_ids: list[str]) -> dict[str, int]:
    """The attempt number each invoice's next collection uses, counted once per invoice across
    collection runs, dunning retries and staff: the attempt still pending (its outcome is resolved,
    never charged twice), else one more than the invoice's last attempt (1 for the first)."""
    found: dict[str, int] = {invoice_id: 1 for invoice_id in invoice_ids}
    for start in range(0, len(invoice_ids), 5000):
        chunk = invoice_ids[start : start + 5000]
        for invoice_id, last, pending in session.execute(_attempts_of(chunk)):
            found[str(invoice_id)] = int(pending) if pending is not None else int(last) + 1
    return found


def next_attempt(session: Session, invoice_id: str) -> int:
    return next_attempts(session, [invoice_id])[invoice_id]


def collectable_invoices(session: Session, organisation_id: str, billing_run_id: str | None) -> list[str]:
    """Due invoices of auto-collecting accounts with a default method, oldest first: a bill run's
    (their issuer may be the run's root) or, without one, all of the issuer's."""
    stmt = (
        select(Invoice.id)
        .join(
            PaymentMethod,
            and_(
                PaymentMethod.account_id == Invoice.account_id,
                PaymentMethod.is_default.is_(True),
                PaymentMethod.status == "active",
            ),
        )
        .outerjoin(AccountPaymentSettings, AccountPaymentSettings.account_id == Invoice.account_id)
        .where(
            Invoice.status.in_(sorted(PAYABLE_INVOICE_STATES)),
            Invoice.total_minor > Invoice.paid_minor,
            or_(
                AccountPaymentSettings.auto_collect.is_(None),
                AccountPaymentSettings.auto_collect.is_(True),
            ),
        )
        .order_by(Invoice.id)
    )
    if billing_run_id is not None:
        stmt = stmt.where(Invoice.billing_run_id == billing_run_id)
    else:
        stmt = stmt.where(Invoice.organisation_id == organisation_id)
    return [str(i) for i in session.execute(stmt).scalars()]


def default_method(session: Session, account_id: str) -> PaymentMethod | None:
    return session.execute(
        select(PaymentMethod).where(
            PaymentMethod.account_id == account_id,
            PaymentMethod.is_default.is_(True),
            PaymentMethod.status == "active",
        )
    ).scalar_one_or_none()


def _result(payment: Payment, invoice: Invoice | None = None) -> CollectResult:
    status: CollectStatus = {"failed": "declined", "pending": "pending"}.get(payment.status, "succeeded")  # type: ignore[assignment]
    if payment.status == "failed" and payment.decline_code == "invalid_request":
        status = "failed"
    return CollectResult(
        invoice_id=payment.invoice_id or "",
        status=status,
        payment_id=payment.id,
        decline_code=payment.decline_code,
        account_id=payment.account_id,
        organisation_id=invoice.organisation_id if invoice else payment.organisation_id,
    )


class Collector:
    def __init__(self, url: str, gateways: GatewayRegistry, pause_after_gateway: float = 0.0) -> None:
        self.url = url
        self.gateways = gateways
        self.pause_after_gateway = pause_after_gateway

    def prepare(self, request: CollectInput) -> tuple[CollectResult | None, Payment | None, bool]:
        """Transaction 1: the payment to charge (new or pending) and whether it existed before."""
        key = collection_key(request.invoice_id, request.attempt)
        with unit_of_work(self.url) as session:
            invoice = session.execute(
                select(Invoice).where(Invoice.id == request.invoice_id).with_for_update()
            ).scalar_one_or_none()
            if invoice is None:
                return CollectResult(invoice_id=request.invoice_id, status="nothing_due"), None, False
            base = CollectResult(
                invoice_id=invoice.id,
                status="nothing_due",
                account_id=invoice.account_id,
                organisation_id=invoice.organisation_id,
            )
            existing = store.payment_by_key(session, key)
            if existing is not None:
                return (
                    (None, existing, True)
                    if existing.status == "pending"
                    else (_result(existing, invoice), None, True)
                )
            credited = credited_minor(session, [invoice.id]).get(invoice.id, 0)
            due = open_amount(invoice.total_minor, invoice.paid_minor, credited)
            if invoice.status not in PAYABLE_INVOICE_STATES or due <= 0:
                return base, None, False
            method = default_method(session, invoice.account_id)
            if method is None or not method.gateway_token:
                return base.model_copy(update={"status": "no_method"}), None, False
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
                gateway=method.gateway,
                idempotency_key=key,
                attempt=request.attempt,
                invoice_id=invoice.id,
                unallocated_minor=0,
                refunded_minor=0,
            )
            session.add(payment)
            session.flush()
            return None, payment, False

    def call_gateway(self, payment: Payment, existed: bool) -> ChargeResult:
        """The gateway call (GatewayUnavailable propagates: the outcome is unknown)."""
        gateway = self.gateways.get(payment.gateway)
        request = self._charge_request(payment)
        if isinstance(gateway, StagedGateway):
            result = self._staged_charge(gateway, payment, existed, request)
        else:
            found = gateway.lookup(payment.idempotency_key) if existed else None
            if found is not None:
                return found
            result = gateway.charge(request)
        if self.pause_after_gateway > 0:
            time.sleep(self.pause_after_gateway)  # TEST ONLY: a window to kill the worker in
        return result

    def _staged_charge(
        self, gateway: StagedGateway, payment: Payment, existed: bool, request: ChargeRequest
    ) -> ChargeResult:
        """Open the charge and store its reference on the pending payment BEFORE attempting it, so a
        retry after any crash resolves that very charge (confirming it if it never was)."""
        reference = payment.gateway_reference
        if reference is None and existed:  # opened before its reference was stored? (gateway search)
            found = cast(PaymentGateway, gateway).lookup(payment.idempotency_key)
            reference = found.gateway_reference if found is not None else None
        if reference is not None:
            self._remember(payment.id, reference)
            return gateway.complete_charge(reference, request)
        reference = gateway.open_charge(request)
        self._remember(payment.id, reference)
        return gateway.complete_charge(reference, request, fresh=True)

    def _remember(self, payment_id: str, reference: str) -> None:
        with unit_of_work(self.url) as session:
            payment = store.lock_payment(session, payment_id)
            if payment.status == "pending" and payment.gateway_reference != reference:
                payment.gateway_reference = reference

    def _charge_request(self, payment: Payment) -> ChargeRequest:
        with unit_of_work(self.url) as session:
            method = session.get(PaymentMethod, payment.method_id) if payment.method_id else None
            token = method.gateway_token if method and method.gateway_token else ""
            metadata = {"payment_id": payment.id}
            if method is not None and method.gateway_customer:
                metadata["stripe_customer"] = method.gateway_customer
        return ChargeRequest(
            idempotency_key=payment.idempotency_key,
            account_id=payment.account_id,
            invoice_id=payment.invoice_id,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            method_token=token,
            description=f"invoice {payment.invoice_id}",
            metadata=metadata,
        )

    def record(self, payment_id: str, result: ChargeResult) -> CollectResult:
        """Transaction 3: the outcome, allocation and ledger entry together."""
        with unit_of_work(self.url) as session:
            payment = store.lock_payment(session, payment_id)
            if result.status is ChargeStatus.SUCCEEDED:
                store.settle(session, payment, gateway_reference=result.gateway_reference)
            elif result.status in (ChargeStatus.DECLINED, ChargeStatus.FAILED):
                code = result.decline_code or (
                    "invalid_request" if result.status is ChargeStatus.FAILED else None
                )
                store.fail(session, payment, decline_code=code, message=result.message)
                if payment.gateway_reference is None:
                    payment.gateway_reference = result.gateway_reference
            elif result.gateway_reference and payment.status == "pending":
                payment.gateway_reference = result.gateway_reference  # a request pushed again: the latest
            invoice = session.get(Invoice, payment.invoice_id) if payment.invoice_id else None
            return _result(payment, invoice)

    def collect(self, request: CollectInput) -> CollectResult:
        done, payment, existed = self.prepare(request)
        if done is not None:
            return done
        assert payment is not None
        result = self.call_gateway(payment, existed)
        collected = self.record(payment.id, result)
        if collected.status == "pending" and awaits_confirmation(self.gateways, payment.gateway):
            raise GatewayUnavailable(
                f"{payment.gateway} has not answered {payment.idempotency_key} yet: the retry looks it up"
            )
        return collected


def awaits_confirmation(gateways: GatewayRegistry, name: str) -> bool:
    """Whether the gateway's PENDING means "not known yet, ask again soon" (mobile money's push payment
    waiting for the PIN), not a debit waiting for a file: the caller resolves it like a timeout."""
    try:
        return bool(getattr(gateways.get(name), "awaits_confirmation", False))
    except LookupError:
        return False
