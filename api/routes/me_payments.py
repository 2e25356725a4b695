"""/v1/me paying: an invoice by card (a PaymentIntent that Stripe.js confirms in the browser; the card never
reaches us), the outcome read back after Stripe.js returns, a wallet top-up by card (the WalletTopUp
process, within the operator's top-up limit), saved cards and a SetupIntent to save one."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from activities.payments import methods
from activities.selfservice.access import subscriber_principal
from activities.selfservice.card_payments import (
    CardPayment,
    confirm_card_payment,
    open_card_payment,
    open_setup,
)
from activities.selfservice.method_payments import pay_with_method
from activities.selfservice.top_ups import card_token, check_top_up
from api.deps import IdempotencyKeyDep, SessionDep, SettingsDep
from api.docs import problem_response
from api.dunning_signals import signal_paid
from api.payment_gateways import gateways_for
from api.routes import wallets
from api.routes.payment_methods import method_out
from api.schemas.me_billing import (
    InvoicePaymentIn,
    MeTopUpIn,
    PaymentConfirmIn,
    PaymentStarted,
    SetupIntentOut,
)
from api.schemas.payments import CardMethodCreate, PaymentMethodOut
from api.schemas.wallets import TopUpIn as StaffTopUpIn
from api.schemas.wallets import TopUpOut
from api.subscriber_deps import SubscriberDep, SubscriberWriteDep
from models.accounts import Account
from models.base import unit_of_work
from runtime.settings import Settings

router = APIRouter(prefix="/v1/me", tags=["self-service"])


def _started(payment: CardPayment, settings: Settings) -> dict[str, Any]:
    fields = {k: v for k, v in asdict(payment).items() if k != "paid_invoice_ids"}
    return PaymentStarted.model_validate(
        {
            **fields,
            "method": "card",
            "publishable_key": settings.stripe_publishable_key,
            "stripe_js_url": settings.stripe_js_url,
        }
    ).model_dump(mode="json")


@router.post(
    "/invoices/{invoice_id}/payments",
    status_code=201,
    response_model=PaymentStarted,
    summary="Pay one of your invoices: by card (a PaymentIntent for Stripe.js), SEPA mandate or mobile money",
    responses={409: problem_response("`invoice_paid` or `invoice_void`: there is nothing to pay")},
)
async def pay_invoice(
    invoice_id: str,
    request: Request,
    subscriber: SubscriberDep,
    settings: SettingsDep,
    key: IdempotencyKeyDep,
    body: InvoicePaymentIn | None = None,
) -> JSONResponse:
    """While the invoice's card payment is pending, every request answers that same payment and intent
    (two tabs never charge twice); confirm it with Stripe.js, then POST …/payments/{id}/confirmations."""
    method = body.method if body else "card"
    url, gateways = settings.database_url or "", gateways_for(request)
    if method == "card":
        payment = await run_in_threadpool(open_card_payment, url, gateways, subscriber, invoice_id, key)
    else:  # the account's SEPA mandate or mobile-money number: the debit or the push settles later
        payment = await run_in_threadpool(pay_with_method, url, gateways, subscriber, invoice_id, method, key)
        return JSONResponse({**_started(payment, settings), "method": method}, status_code=201)
    return JSONResponse(_started(payment, settings), status_code=201)


@router.post(
    "/payments/{payment_id}/confirmations",
    response_model=PaymentStarted,
    summary="After Stripe.js returns: read the card payment's outcome (settles the invoice once)",
)
async def confirm_payment(
    payment_id: str,
    request: Request,
    subscriber: SubscriberDep,
    settings: SettingsDep,
    key: IdempotencyKeyDep,
    body: PaymentConfirmIn | None = None,
) -> dict[str, Any]:
    """With ``payment_method_token`` (the ``pm_…`` Stripe.js made of the card typed, or that
    ``confirmCardSetup`` saved) the intent is confirmed with it here; without, Stripe.js confirmed it
    (``confirmCardPayment``) and its outcome is read. A declined card answers ``failed`` and its code."""
    url = settings.database_url or ""
    token = body.payment_method_token if body else None
    payment = await run_in_threadpool(
        confirm_card_payment, url, gateways_for(request), subscriber, payment_id, token
    )
    await signal_paid(request.app.state.temporal, url, payment.paid_invoice_ids)
    return _started(payment, settings)


@router.post(
    "/wallets/{currency}/top-ups",
    status_code=201,
    response_model=TopUpOut,
    summary="Top up your wallet by card (within the operator's top-up limit)",
    responses={
        402: problem_response("`top_up_declined`: the card was declined; nothing was added"),
        422: problem_response("`top_up_limit`: over the operator's maximum of one top-up"),
    },
)
async def top_up_my_wallet(
    currency: str,
    body: MeTopUpIn,
    request: Request,
    subscriber: SubscriberDep,
    settings: SettingsDep,
    write: SubscriberWriteDep,
) -> Response:
    def check() -> tuple[Any, StaffTopUpIn]:
        with unit_of_work(settings.database_url or "") as session:
            account = session.get(Account, subscriber.account_id)
            assert account is not None
            check_top_up(session, account, currency, body.amount_minor)
            gateway, token = card_token(
                session, subscriber, body.payment_method_token, body.payment_method_id
            )
            staff_body = StaffTopUpIn(
                method="card", amount_minor=body.amount_minor, gateway=gateway, payment_method_token=token
            )
            return subscriber_principal(session, subscriber), staff_body

    principal, staff_body = await run_in_threadpool(check)
    # The wallets area's own top-up: checks, the WalletTopUp process, the idempotent record, resumes.
    return await wallets.top_up(
        subscriber.account_id, currency, staff_body, request, principal, settings, write
    )


@router.get("/payment-methods", response_model=list[PaymentMethodOut], summary="Your saved payment methods")
def my_payment_methods(subscriber: SubscriberDep, session: SessionDep) -> list[dict[str, Any]]:
    principal = subscriber_principal(session, subscriber)
    return [method_out(m) for m in methods.list_methods(session, principal, subscriber.account_id)]


@router.post(
    "/payment-methods",
    status_code=201,
    response_model=PaymentMethodOut,
    summary="Save a card Stripe.js set up (its pm_… token; never a card number)",
)
async def save_card(
    body: Annotated[CardMethodCreate, Body()],
    request: Request,
    subscriber: SubscriberDep,
    settings: SettingsDep,
    write: SubscriberWriteDep,
) -> Response:
    url = settings.database_url or ""

    def register(session: Session) -> dict[str, Any]:
        principal = subscriber_principal(session, subscriber)
        card = methods.register_card(
            url,
            gateways_for(request),
            principal,
            subscriber.account_id,
            token=body.token,
            gateway_name=body.gateway,
            make_it_default=body.default,
            auto_collect=body.auto_collect,
        )
        return method_out(card)

    return await run_in_threadpool(write, body, register)


@router.post(
    "/payment-methods/setup-intents",
    status_code=201,
    response_model=SetupIntentOut,
    summary="A SetupIntent for Stripe.js to save a card (then POST /v1/me/payment-methods with its pm_…)",
)
async def card_setup(
    request: Request, subscriber: SubscriberDep, settings: SettingsDep, key: IdempotencyKeyDep
) -> dict[str, Any]:
    url = settings.database_url or ""
    intent = await run_in_threadpool(open_setup, url, gateways_for(request), subscriber, key)
    return {
        "object": "setup_intent",
        "id": intent.id,
        "client_secret": intent.client_secret,
        "publishable_key": settings.stripe_publishable_key,
        "stripe_js_url": settings.stripe_js_url,
    }
