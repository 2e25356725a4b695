"""/v1/payments: record cash or a bank transfer, read, list, refund, receipt; collect an invoice now;
the Stripe webhook. Includes the payment-method routes, so the app registers this one router."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.invoices.reads import visible_invoice
from activities.payments.io import RefundCall, RefundDone, RefundInput
from activities.payments.manual import (
    ManualPayment,
    allocations_of,
    receipt_html,
    record_manual_payment,
    visible_payment,
)
from activities.payments.refunds import refund_payment
from activities.payments.stripe_webhooks import handle_event, verify
from api.deps import IdempotencyKeyDep, IdempotentWriteDep, SessionDep, SettingsDep, StaffDep
from api.dunning_signals import signal_paid
from api.payment_gateways import gateways_for
from api.process_results import run_process
from api.process_starter import ProcessStart
from api.routes import payment_methods
from api.schemas.payments import (
    CollectOut,
    PaymentCreate,
    PaymentOut,
    RefundCreate,
    RefundOut,
    StripeEventOut,
)
from domain import process_ids
from domain.process_ids import ProcessLabels
from models.accounts import Account
from models.base import unit_of_work
from models.organisations import Organisation
from models.payments import Payment
from workflows.payment_actions import (
    CollectNowInput,
    CollectNowResult,
    CollectNowWorkflow,
    PaymentRefundWorkflow,
)

router = APIRouter(tags=["payments"])
# Payments taken by hand: their refunds call no outside system, so the route records them itself.
AT_THE_COUNTER = ("manual", "cash")
router.include_router(payment_methods.router)


def payment_out(session: Session, payment: Payment) -> dict[str, Any]:
    allocations = [
        {"invoice_id": a.invoice_id, "amount_minor": a.amount_minor, "reversed_minor": a.reversed_minor}
        for a, _ in allocations_of(session, payment.id)
    ]
    fields = {name: getattr(payment, name) for name in PaymentOut.model_fields if name != "allocations"}
    return PaymentOut.model_validate({**fields, "allocations": allocations}).model_dump(mode="json")


@router.post(
    "/v1/payments", status_code=201, response_model=PaymentOut, summary="Record cash or a bank transfer"
)
async def record_payment(
    body: PaymentCreate,
    request: Request,
    principal: StaffDep,
    write: IdempotentWriteDep,
    settings: SettingsDep,
) -> Response:
    gateways = gateways_for(request)

    def produce(session: Session) -> dict[str, Any]:
        manual = ManualPayment(**body.model_dump(), key=f"api:{principal.organisation_id}:{write.key}")
        return payment_out(session, record_manual_payment(session, principal, gateways, manual))

    stored = await run_in_threadpool(write.store, body, produce)
    allocated = [a["invoice_id"] for a in stored.body.get("allocations", [])]
    await signal_paid(request.app.state.temporal, settings.database_url or "", allocated)
    return stored.response()


@router.get("/v1/payments", response_model=list[PaymentOut], summary="Payments of an account, newest first")
def list_payments(
    principal: StaffDep,
    session: SessionDep,
    account_id: Annotated[str, Query(max_length=40)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    stmt = (
        select(Payment)
        .join(Account, Account.id == Payment.account_id)
        .join(Organisation, Organisation.id == Account.organisation_id)
        .where(
            Payment.account_id == account_id,
            Organisation.path.startswith(principal.organisation_path, autoescape=True),
        )
        .order_by(Payment.id.desc())
        .limit(limit)
    )
    return [payment_out(session, p) for p in session.execute(stmt).scalars()]


@router.get("/v1/payments/{payment_id}", response_model=PaymentOut, summary="Get a payment")
def get_payment(payment_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    return payment_out(session, visible_payment(session, principal, payment_id))


@router.get(
    "/v1/payments/{payment_id}/receipt", response_class=HTMLResponse, summary="The cash receipt (HTML)"
)
def get_receipt(payment_id: str, principal: StaffDep, session: SessionDep) -> HTMLResponse:
    return HTMLResponse(receipt_html(session, visible_payment(session, principal, payment_id)))


@router.post(
    "/v1/payments/{payment_id}/refunds",
    status_code=201,
    response_model=RefundOut,
    summary="Refund (part of) a payment",
)
async def create_refund(
    payment_id: str,
    body: RefundCreate,
    request: Request,
    principal: StaffDep,
    settings: SettingsDep,
    key: IdempotencyKeyDep,
) -> JSONResponse:
    """A payment taken by hand is refunded here; one taken by a gateway, by a PaymentRefund process."""
    refund_request = RefundInput(
        payment_id=payment_id,
        amount_minor=body.amount_minor,
        reason=body.reason,
        key=f"api:{principal.organisation_id}:{key}",
    )
    url = settings.database_url or ""
    gateway = await run_in_threadpool(_payment_gateway, url, principal, payment_id)
    if gateway in AT_THE_COUNTER:
        refund = await run_in_threadpool(
            refund_payment, url, gateways_for(request), principal, refund_request
        )
        return JSONResponse(RefundOut.model_validate(refund).model_dump(mode="json"), status_code=201)
    done = await run_process(
        request.app.state.temporal,
        settings,
        ProcessStart(
            PaymentRefundWorkflow.run,
            RefundCall(principal=principal, request=refund_request),
            process_ids.payment_refund(payment_id, key),
            ProcessLabels(
                process="PaymentRefund",
                summary=f"Refund of payment {payment_id}",
                organisation_id=principal.organisation_id,
            ),
        ),
        RefundDone,
    )
    return JSONResponse(RefundOut.model_validate(done.model_dump()).model_dump(mode="json"), status_code=201)


def _payment_gateway(url: str, principal: Any, payment_id: str) -> str:
    with unit_of_work(url) as session:
        return visible_payment(session, principal, payment_id).gateway


@router.post("/v1/invoices/{invoice_id}/collect", response_model=CollectOut, summary="Collect an invoice now")
async def collect_now(
    invoice_id: str, request: Request, principal: StaffDep, settings: SettingsDep, key: IdempotencyKeyDep
) -> dict[str, Any]:
    """One collection attempt now, run by a CollectNow process; a paid invoice stops its dunning."""
    url = settings.database_url or ""
    account_id = await run_in_threadpool(_visible_invoice_account, url, principal, invoice_id)
    done = await run_process(
        request.app.state.temporal,
        settings,
        ProcessStart(
            CollectNowWorkflow.run,
            CollectNowInput(invoice_id=invoice_id),
            process_ids.collect_now(invoice_id, key),
            ProcessLabels(
                process="CollectNow",
                summary=f"Collection of invoice {invoice_id} now",
                organisation_id=principal.organisation_id,
                account_id=account_id,
                invoice_id=invoice_id,
            ),
        ),
        CollectNowResult,
    )
    out = {**done.result.model_dump(mode="json"), "attempt": done.attempt}
    if out.get("status") == "succeeded":
        await signal_paid(request.app.state.temporal, url, [invoice_id])
    return out


def _visible_invoice_account(url: str, principal: Any, invoice_id: str) -> str:
    with unit_of_work(url) as session:
        return visible_invoice(session, principal, invoice_id).account_id


@router.post(
    "/v1/webhooks/stripe",
    response_model=StripeEventOut,
    summary="Stripe events (signed; no API key)",
    include_in_schema=True,
)
async def stripe_webhook(
    request: Request,
    settings: SettingsDep,
    stripe_signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> dict[str, Any]:
    payload = await request.body()
    event = verify(payload, stripe_signature, settings.stripe_webhook_secret)
    url = settings.database_url or ""
    applied = await run_in_threadpool(handle_event, url, event)
    await signal_paid(request.app.state.temporal, url, applied.paid_invoice_ids)
    return {"received": True, "event_id": event["id"], "outcome": applied.outcome}
