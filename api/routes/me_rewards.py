"""/v1/me/… rewards: redeem a voucher code, the wallets and their history, the offers the subscriber may
take (and taking one), loyalty points (balance, history, redeeming). The same transaction scripts as the
staff routes, narrowed to the subscriber's accounts (anything else is a 404)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.accounts.subscriber_access import own_account
from activities.loyalty import redemptions
from activities.offers.eligibility import eligible_offers
from activities.offers.redemptions import AcceptRequest
from activities.subscriptions.onboarding import local_today
from activities.wallets import redemption_limits, vouchers
from activities.wallets.balances import find_wallet, history
from api.deps import SessionDep, SettingsDep, TemporalGatewayDep
from api.docs import problem_response
from api.errors import ApiError, problem
from api.offer_acceptance import accept_for
from api.routes.loyalty import points_view, redemption_out
from api.routes.offers import ACCEPT_RESPONSES, offer_out
from api.routes.wallets import tx_out, wallet_out
from api.schemas.loyalty import PointsOut, RedemptionOut
from api.schemas.me_care import MeOfferAcceptIn, MePointsRedemptionIn, MeVoucherIn
from api.schemas.offers import AcceptOut, EligibleOffers
from api.schemas.wallets import RedeemOut, TransactionPage, WalletList
from api.subscriber_deps import SubscriberDep, SubscriberWriteDep
from domain.errors import RuleViolation
from domain.subscribers import Subscriber
from models.base import unit_of_work
from models.wallets import Wallet

router = APIRouter(prefix="/v1/me", tags=["self-service"])

AccountQuery = Annotated[
    str | None, Query(max_length=32, description="one of your accounts; default: your own")
]
FAILED_CODES = frozenset(
    {
        "voucher_not_found",
        "voucher_already_redeemed",
        "voucher_cancelled",
        "voucher_expired",
        "voucher_not_active",
    }
)
"""Refusals that count towards the limit on guessing codes."""


def _today() -> Any:
    return datetime.now(UTC).date()


@router.post(
    "/vouchers/redeem",
    status_code=201,
    response_model=RedeemOut,
    summary="Redeem a voucher code to your wallet",
    responses={
        404: problem_response("`voucher_not_found`: no voucher has this code"),
        409: problem_response("`voucher_already_redeemed`, `voucher_cancelled` or `voucher_not_active`"),
        429: problem_response(
            f"`too_many_voucher_attempts`: {redemption_limits.MAX_FAILURES} failed codes within an hour; "
            "wait for Retry-After seconds"
        ),
    },
)
def redeem_voucher(
    body: MeVoucherIn, subscriber: SubscriberDep, write: SubscriberWriteDep, settings: SettingsDep
) -> Response:
    url = settings.database_url or ""
    with unit_of_work(url) as session:
        account_id = own_account(session, subscriber, body.account_id).id
        try:
            redemption_limits.check_allowed(session, account_id, datetime.now(UTC))
        except redemption_limits.TooManyFailures as exc:
            refused = problem(429, "too_many_voucher_attempts", str(exc))
            refused.headers["Retry-After"] = str(exc.retry_after_seconds)
            return refused

    def produce(session: Session) -> dict[str, Any]:
        account = own_account(session, subscriber, account_id, lock=True)
        voucher, lot, tx = vouchers.redeem(
            session, code=body.code, account=account, subscription_id=body.subscription_id, today=_today()
        )
        return {
            "object": "voucher_redemption",
            "voucher_id": voucher.id,
            "lot_id": lot.id,
            "value_minor": lot.value_minor,
            "currency": lot.currency,
            "plan_code": lot.plan_code,
            "subscription_id": body.subscription_id,
            "wallet": wallet_out(find_wallet(session, account.id, lot.currency)),
            "transaction": tx_out(tx),
        }

    payload = {**body.model_dump(mode="json"), "code": vouchers.code_hash_of(body.code)}
    try:
        return write(payload, produce)
    except RuleViolation as exc:
        if exc.code in FAILED_CODES:
            with unit_of_work(url) as session:
                redemption_limits.record_failure(session, account_id, exc.code, datetime.now(UTC))
        raise


@router.get("/wallets", response_model=WalletList, summary="Your wallets and their balances")
def my_wallets(subscriber: SubscriberDep, session: SessionDep, account_id: AccountQuery = None) -> Any:
    account = own_account(session, subscriber, account_id)
    rows = session.execute(
        select(Wallet).where(Wallet.account_id == account.id).order_by(Wallet.currency)
    ).scalars()
    return {"data": [wallet_out(w) for w in rows]}


@router.get(
    "/wallets/{currency}/transactions",
    response_model=TransactionPage,
    summary="A wallet's movements, newest first",
)
def my_wallet_transactions(
    currency: str,
    subscriber: SubscriberDep,
    session: SessionDep,
    account_id: AccountQuery = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    account = own_account(session, subscriber, account_id)
    try:
        wallet = find_wallet(session, account.id, currency)
    except RuleViolation:
        raise ApiError(404, "wallet_not_found", f"You have no {currency} wallet") from None
    rows, next_cursor = history(session, wallet, after=cursor, limit=limit)
    return {"data": [tx_out(t) for t in rows], "next_cursor": next_cursor, "has_more": bool(next_cursor)}


def channel_of(subscriber: Subscriber) -> str:
    """The offers' channel a subscriber comes through: ``portal`` or ``app``."""
    return subscriber.kind.value


@router.get("/offers", response_model=EligibleOffers, summary="The offers you may take now")
def my_offers(subscriber: SubscriberDep, session: SessionDep, account_id: AccountQuery = None) -> Any:
    account = own_account(session, subscriber, account_id)
    channel = channel_of(subscriber)
    verdicts = eligible_offers(session, account, local_today(account.timezone), channel)
    return {
        "object": "list",
        "account_id": account.id,
        "channel": channel,
        "data": [offer_out(v.offer) for v in verdicts],
    }


@router.post(
    "/offers/{offer_id}/accept",
    status_code=201,
    response_model=AcceptOut,
    summary="Take an offer (a plan change or add-on starts the PlanChange process)",
    responses=ACCEPT_RESPONSES,
)
async def accept_my_offer(
    offer_id: str,
    body: MeOfferAcceptIn,
    subscriber: SubscriberDep,
    write: SubscriberWriteDep,
    settings: SettingsDep,
    gateway: TemporalGatewayDep,
) -> Response:
    request = AcceptRequest(channel=channel_of(subscriber), subscription_id=body.subscription_id)
    return await accept_for(
        lambda session: own_account(session, subscriber, body.account_id, lock=True),
        offer_id,
        request,
        subscriber.login_id,
        write,
        settings,
        gateway,
    )


@router.get("/points", response_model=PointsOut, summary="Your loyalty points and their movements")
def my_points(
    subscriber: SubscriberDep,
    session: SessionDep,
    account_id: AccountQuery = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    account = own_account(session, subscriber, account_id)
    return points_view(session, account.id, cursor, limit)


@router.post(
    "/points/redemptions",
    status_code=201,
    response_model=RedemptionOut,
    summary="Redeem points for wallet credit or a voucher",
    responses={
        409: problem_response(
            "`points_insufficient`: fewer points than asked; nothing moved and the balance is unchanged. "
            "`loyalty_programme_missing`: the operator has no loyalty programme"
        ),
        422: problem_response("`points_too_few`: the points asked are worth less than one minor unit"),
    },
)
def redeem_my_points(
    body: MePointsRedemptionIn, subscriber: SubscriberDep, write: SubscriberWriteDep
) -> Response:
    today = _today()

    def produce(session: Session) -> dict[str, Any]:
        account = own_account(session, subscriber, body.account_id, lock=True)
        key = f"me:{subscriber.organisation_id}:{write.key}"
        redemption = redemptions.redeem_points(session, account, body.points, body.reward, key, today)
        return redemption_out(session, redemption)

    return write(body, produce)
