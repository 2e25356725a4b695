"""Portal pages of the subscriber's rewards: wallet and its history, redeeming a voucher, offers (taking
one), loyalty points (history, redeeming). Each calls the self-service API's route (api/routes/me_rewards.py)
so the rules, limits and idempotency are the API's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from api.errors import ApiError
from api.routes import me_rewards
from api.schemas.me_care import MeOfferAcceptIn, MePointsRedemptionIn, MeVoucherIn
from domain.errors import RuleViolation
from domain.i18n import format_money
from portal.care_forms import Refused, answered, attempt, form_write, page, reading, refusal
from portal.messages import text
from portal.shell import PortalSubscriberDep, language, read_form, render

router = APIRouter(include_in_schema=False)  # mounted under /portal by portal/care_pages.py
Cursor = Annotated[str | None, Query(max_length=200)]
Currency = Annotated[str | None, Query(pattern="^[A-Z]{3}$")]
PAGE = 20


def _wallet_view(
    request: Request, me: PortalSubscriberDep, currency: str | None, cursor: str | None
) -> dict[str, Any]:
    with reading(request) as session:
        wallets = me_rewards.my_wallets(me.subscriber, session)["data"]
        chosen = currency or (wallets[0]["currency"] if wallets else None)
        history: dict[str, Any] = {"data": [], "next_cursor": None}
        if chosen and any(w["currency"] == chosen for w in wallets):
            history = attempt(
                request,
                lambda: me_rewards.my_wallet_transactions(chosen, me.subscriber, session, None, cursor, PAGE),
            )
    return {
        "wallets": wallets,
        "currency": chosen,
        "transactions": history["data"],
        "next_cursor": history["next_cursor"],
    }


@router.get("/wallet", response_class=HTMLResponse)
def wallet(
    request: Request, me: PortalSubscriberDep, currency: Currency = None, cursor: Cursor = None
) -> HTMLResponse:
    try:
        view = _wallet_view(request, me, currency, cursor)
    except Refused as exc:
        view = {**_wallet_view(request, me, None, None), "error": exc.message}
    return page(request, "care/wallet.html", me, **view)


@router.get("/vouchers", response_class=HTMLResponse)
def vouchers(request: Request, me: PortalSubscriberDep) -> HTMLResponse:
    return page(request, "care/vouchers.html", me)


@router.post("/vouchers", response_class=HTMLResponse)
async def redeem_voucher(request: Request, me: PortalSubscriberDep) -> HTMLResponse:
    fields = await read_form(request, me)
    lang = language(request)
    try:
        body = attempt(request, lambda: MeVoucherIn(code=fields.get("code", "").strip()))
        write = attempt(request, lambda: form_write(request, me, fields))
        settings = request.app.state.settings
        response = await run_in_threadpool(
            attempt, request, lambda: me_rewards.redeem_voucher(body, me.subscriber, write, settings)
        )
        out = answered(request, response)
    except Refused as exc:
        return page(request, "care/vouchers.html", me, status=exc.status, error=exc.message)
    currency = out["currency"]
    notice = text(
        lang,
        "care.vouchers.done",
        amount=format_money(out["value_minor"], currency, lang),
        balance=format_money(out["wallet"]["balance_minor"], currency, lang),
    )
    return page(request, "care/vouchers.html", me, notice=notice)


def _offers(request: Request, me: PortalSubscriberDep) -> list[dict[str, Any]]:
    with reading(request) as session:
        found: list[dict[str, Any]] = me_rewards.my_offers(me.subscriber, session)["data"]
    return found


@router.get("/offers", response_class=HTMLResponse)
def offers(request: Request, me: PortalSubscriberDep) -> HTMLResponse:
    return page(request, "care/offers.html", me, offers=_offers(request, me))


@router.post("/offers/{offer_id}/accept", response_class=HTMLResponse)
async def accept_offer(request: Request, offer_id: str, me: PortalSubscriberDep) -> HTMLResponse:
    fields = await read_form(request, me)
    lang = language(request)
    try:
        write = attempt(request, lambda: form_write(request, me, fields))
        try:
            response = await me_rewards.accept_my_offer(
                offer_id,
                MeOfferAcceptIn(),
                me.subscriber,
                write,
                request.app.state.settings,
                request.app.state.temporal,
            )
        except (ApiError, RuleViolation) as exc:  # a refusal of the API (a rule, a 503): on the page
            raise refusal(request, exc) from None
        out = answered(request, response)
    except Refused as exc:
        listed = await run_in_threadpool(_offers, request, me)
        return page(request, "care/offers.html", me, status=exc.status, offers=listed, error=exc.message)
    notice = text(lang, "care.offers.done", name=out.get("offer_code", ""))
    if out.get("voucher_code"):
        notice += " " + text(lang, "care.offers.voucher", code=out["voucher_code"])
    listed = await run_in_threadpool(_offers, request, me)
    return page(request, "care/offers.html", me, offers=listed, notice=notice)


def _points(request: Request, me: PortalSubscriberDep, cursor: str | None) -> dict[str, Any]:
    with reading(request) as session:
        view = attempt(request, lambda: me_rewards.my_points(me.subscriber, session, None, cursor, PAGE))
    return {"balance": view["balance"], "movements": view["movements"], "next_cursor": view["next_cursor"]}


@router.get("/points", response_class=HTMLResponse)
def points(request: Request, me: PortalSubscriberDep, cursor: Cursor = None) -> HTMLResponse:
    try:
        view = _points(request, me, cursor)
    except Refused as exc:
        return render(request, "message.html", me, status_code=exc.status, title_key="care.points.title",
                      message_key="care.error.generic")  # fmt: skip
    return page(request, "care/points.html", me, **view)


@router.post("/points", response_class=HTMLResponse)
async def redeem_points(request: Request, me: PortalSubscriberDep) -> HTMLResponse:
    fields = await read_form(request, me)
    lang = language(request)
    try:
        body = attempt(
            request,
            lambda: MePointsRedemptionIn.model_validate(
                {"points": fields.get("points", ""), "reward": fields.get("reward", "")}
            ),
        )
        write = attempt(request, lambda: form_write(request, me, fields))
        response = await run_in_threadpool(
            attempt, request, lambda: me_rewards.redeem_my_points(body, me.subscriber, write)
        )
        out = answered(request, response)
    except Refused as exc:
        view = await run_in_threadpool(_points, request, me, None)
        return page(request, "care/points.html", me, status=exc.status, error=exc.message, **view)
    amount = format_money(out["amount_minor"], out["currency"], lang)
    notice = text(lang, "care.points.done", points=out["points"], amount=amount)
    if out.get("voucher_code"):
        notice += " " + text(lang, "care.offers.voucher", code=out["voucher_code"])
    view = await run_in_threadpool(_points, request, me, None)
    return page(request, "care/points.html", me, notice=notice, **view)
