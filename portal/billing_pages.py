"""The portal's billing pages: a subscription with its plan change and add-ons (the price quoted before
confirming), invoices with their PDF, paying an invoice and topping up the wallet by card (Stripe.js).

Pages read and write through the same scripts and routes as /v1/me; another subscriber's object is a
404 page, a refused request a page with the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from activities.invoices.credit_notes import issuer_for
from activities.selfservice.catalogue import catalogue_for
from activities.selfservice.changes import own_subscription, quote_change
from activities.selfservice.top_ups import top_up_limit
from api.errors import ApiError
from api.idempotency import IdempotentWrite
from api.routes.invoices import invoice_out
from api.routes.me_billing import change_my_subscription, change_request_of
from api.routes.me_invoices import list_my_invoices, own_invoice
from api.schemas.me_billing import MeChange
from api.subscription_views import subscription_view
from domain.currency import minor_units
from domain.errors import NotFound, RuleViolation
from domain.money import Money
from models.accounts import Account
from models.base import unit_of_work
from models.organisations import Organisation
from portal.shell import PortalSubscriberDep, read_form, render

router = APIRouter(prefix="/portal", include_in_schema=False)
T = TypeVar("T")


def amount(minor: int, currency: str) -> str:
    return f"{Money(minor, currency).to_decimal():f}"


def _url(request: Request) -> str:
    return str(request.app.state.settings.database_url or "")


async def _read(request: Request, work: Callable[[Any], T]) -> T:
    def run() -> T:
        with unit_of_work(_url(request)) as session:
            return work(session)

    return await run_in_threadpool(run)


def _not_found(request: Request, me: Any) -> HTMLResponse:
    return render(
        request,
        "message.html",
        me,
        status_code=404,
        title_key="billing.not_found.title",
        message_key="billing.not_found.message",
    )


def _problem(request: Request, me: Any, exc: RuleViolation, back: str) -> HTMLResponse:
    """A refused change: the subscription not theirs is a 404 page; anything else says why."""
    if exc.code == "subscription_not_found":
        return _not_found(request, me)
    return _refused(request, me, exc.status, exc.message, back)


def _refused(request: Request, me: Any, status: int, detail: str, back: str | None = None) -> HTMLResponse:
    return render(request, "billing/error.html", me, status_code=status, detail=detail, back=back)


@router.get("/subscriptions/{subscription_id}", response_class=HTMLResponse)
async def subscription_page(request: Request, subscription_id: str, me: PortalSubscriberDep) -> HTMLResponse:
    def load(session: Any) -> dict[str, Any]:
        sub = own_subscription(session, me.subscriber, subscription_id)
        view = subscription_view(session, sub)
        account = session.get(Account, sub.account_id)
        return {"sub": view, "plans": catalogue_for(session, account)["plans"]}

    try:
        data = await _read(request, load)
    except NotFound:
        return _not_found(request, me)
    sub, plans = data["sub"], data["plans"]
    live = [s for s in sub["services"] if s["status"] in ("active", "suspended", "pending")]
    base = next((s for s in live if s["role"] == "base"), None)
    allowed: list[dict[str, str]] = next(
        (p["addons"] for p in plans if base and p["code"] == base["plan"]), []
    )
    owned = {s["plan"] for s in live}
    addon_codes = {a["plan"] for a in allowed if a["rule"] == "allowed"} - owned
    return render(
        request,
        "billing/subscription.html",
        me,
        sub=sub,
        live=live,
        names={p["code"]: p["name"] for p in plans},
        other_plans=[p for p in plans if p["role"] == "base" and (not base or p["code"] != base["plan"])],
        addons=[p for p in plans if p["code"] in addon_codes],
        changed=request.query_params.get("changed") == "1",
    )


def _change_of(form: dict[str, str]) -> MeChange:
    fields = {k: form[k] for k in ("type", "plan", "service_id") if form.get(k)}
    return MeChange.model_validate(fields)


@router.post("/subscriptions/{subscription_id}/quote", response_class=HTMLResponse)
async def quote_page(request: Request, subscription_id: str, me: PortalSubscriberDep) -> HTMLResponse:
    form = await read_form(request, me)
    back = f"/portal/subscriptions/{subscription_id}"
    try:
        change = _change_of(form)
        quote = await _read(
            request,
            lambda session: quote_change(session, me.subscriber, subscription_id, change_request_of(change)),
        )
    except ValidationError:
        return _refused(request, me, 422, "The form is not complete", back)
    except RuleViolation as exc:
        return _problem(request, me, exc, back)
    return render(request, "billing/quote.html", me, quote=quote, key=uuid.uuid4().hex)


@router.post("/subscriptions/{subscription_id}/changes", response_model=None)
async def change_page(request: Request, subscription_id: str, me: PortalSubscriberDep) -> Response:
    form = await read_form(request, me)
    back = f"/portal/subscriptions/{subscription_id}"
    subscriber = me.subscriber
    key = (form.get("key") or uuid.uuid4().hex)[:100]
    write = IdempotentWrite(
        _url(request), subscriber.organisation_id, f"{subscriber.login_id}:{key}", f"/v1/me{back[7:]}/changes"
    )
    try:
        change = _change_of(form)
        await change_my_subscription(
            subscription_id, change, subscriber, write, request.app.state.settings, request.app.state.temporal
        )
    except ValidationError:
        return _refused(request, me, 422, "The form is not complete", back)
    except RuleViolation as exc:
        return _problem(request, me, exc, back)
    except ApiError as exc:
        return _refused(request, me, exc.status, exc.detail, back)
    return RedirectResponse(f"{back}?changed=1", status_code=303)


@router.get("/invoices", response_class=HTMLResponse)
async def invoices_page(request: Request, me: PortalSubscriberDep) -> HTMLResponse:
    invoices = await _read(request, lambda session: list_my_invoices(me.subscriber, session, None, 100))
    return render(request, "billing/invoices.html", me, invoices=invoices, amount=amount)


@router.get("/invoices/{invoice_id}", response_class=HTMLResponse)
async def invoice_page(request: Request, invoice_id: str, me: PortalSubscriberDep) -> HTMLResponse:
    try:
        invoice = await _read(
            request, lambda session: invoice_out(session, own_invoice(session, me.subscriber, invoice_id))
        )
    except NotFound:
        return _not_found(request, me)
    return render(request, "billing/invoice.html", me, invoice=invoice, amount=amount)


def _card_page(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    return {"publishable_key": settings.stripe_publishable_key or "", "stripe_js_url": settings.stripe_js_url}


@router.get("/invoices/{invoice_id}/pay", response_class=HTMLResponse)
async def pay_page(request: Request, invoice_id: str, me: PortalSubscriberDep) -> HTMLResponse:
    try:
        invoice = await _read(
            request, lambda session: invoice_out(session, own_invoice(session, me.subscriber, invoice_id))
        )
    except NotFound:
        return _not_found(request, me)
    if invoice["amount_due_minor"] <= 0:
        return render(request, "billing/invoice.html", me, status_code=409, invoice=invoice, amount=amount)
    return render(
        request,
        "billing/pay.html",
        me,
        invoice=invoice,
        amount=amount,
        kind="invoice",
        pay_url=f"/v1/me/invoices/{invoice_id}/payments",
        top_up_url="",
        exponent=minor_units(invoice["currency"]),
        currency=invoice["currency"],
        **_card_page(request),
    )


@router.get("/wallet/top-up", response_class=HTMLResponse)
async def wallet_page(request: Request, me: PortalSubscriberDep) -> HTMLResponse:
    def load(session: Any) -> tuple[str, int]:
        account = session.get(Account, me.subscriber.account_id)
        operator = session.get(Organisation, issuer_for(session, account))
        return account.currency, top_up_limit(
            operator.top_up_max_minor if operator else None, account.currency
        )

    currency, limit = await _read(request, load)
    return render(
        request,
        "billing/wallet.html",
        me,
        kind="top_up",
        pay_url="",
        top_up_url=f"/v1/me/wallets/{currency}/top-ups",
        exponent=minor_units(currency),
        currency=currency,
        limit=amount(limit, currency),
        **_card_page(request),
    )
