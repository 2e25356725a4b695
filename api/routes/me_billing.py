"""/v1/me subscriptions: read them, see the catalogue, quote and make a plan change or an add-on purchase
(the PlanChange process), subscribe (the Onboarding process), follow a process.

Every object outside the subscriber's accounts answers 404, exactly as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.selfservice.access import own, subscriber_principal
from activities.selfservice.catalogue import catalogue_for
from activities.selfservice.changes import devices_of, own_subscription, quote_change
from activities.subscriptions.changes import ChangeRequest, prepare_change
from activities.subscriptions.io import ChangePlan
from activities.subscriptions.onboarding import OrderItem, SubscriptionOrder
from api.deps import SessionDep, SettingsDep, TemporalDep, TemporalGatewayDep
from api.errors import ApiError, not_found
from api.onboarding_start import start_onboarding
from api.processes import describe_process, process_view
from api.routes import me_account, me_invoices, me_payments
from api.schemas.me_billing import Catalogue, ChangeQuote, MeChange, MeSubscribe, MeSubscriptionDetail
from api.schemas.processes import ProcessOut
from api.schemas.subscriptions import ChangeStarted, OnboardingStarted, SubscriptionOut
from api.subscriber_deps import SubscriberDep, SubscriberWriteDep
from api.subscription_changes import start_change
from api.subscription_views import subscription_view
from domain.errors import Conflict
from models.accounts import Account
from models.base import unit_of_work
from models.subscriptions import Subscription

own_routes = APIRouter(prefix="/v1/me", tags=["self-service"])
router = APIRouter()
"""The app registers this one router for the subscriber's account, billing and paying routes."""
LIVE = ("draft", "active", "suspended")


def change_request_of(body: MeChange) -> ChangeRequest:
    return ChangeRequest(type=body.type, plan=body.plan, service_id=body.service_id)


@own_routes.get("/subscriptions", response_model=list[SubscriptionOut], summary="Your subscriptions")
def list_my_subscriptions(
    subscriber: SubscriberDep,
    session: SessionDep,
    status: Annotated[
        str | None, Query(pattern="^(draft|active|suspended|terminated|regretted|failed)$")
    ] = None,
) -> list[dict[str, Any]]:
    stmt = select(Subscription).where(Subscription.account_id.in_(subscriber.account_ids))
    if status:
        stmt = stmt.where(Subscription.status == status)
    return [
        subscription_view(session, s, brief=True) for s in session.scalars(stmt.order_by(Subscription.id))
    ]


@own_routes.get(
    "/subscriptions/{subscription_id}",
    response_model=MeSubscriptionDetail,
    summary="One of your subscriptions: services (plans and add-ons), prices, devices, scheduled changes",
)
def get_my_subscription(
    subscription_id: str, subscriber: SubscriberDep, session: SessionDep
) -> dict[str, Any]:
    sub = own_subscription(session, subscriber, subscription_id)
    return {**subscription_view(session, sub), "devices": devices_of(session, sub.id)}


@own_routes.get("/catalogue", response_model=Catalogue, summary="Plans and add-ons on sale, with prices")
def my_catalogue(subscriber: SubscriberDep, session: SessionDep) -> dict[str, Any]:
    account = session.get(Account, subscriber.account_id)
    if account is None:
        raise not_found("account", subscriber.account_id)
    return catalogue_for(session, account)


@own_routes.post(
    "/subscriptions/{subscription_id}/change-quotes",
    response_model=ChangeQuote,
    summary="What a plan change or add-on would cost (prorated), before confirming it; saves nothing",
)
def quote_my_change(
    subscription_id: str, body: MeChange, subscriber: SubscriberDep, session: SessionDep
) -> dict[str, Any]:
    return quote_change(session, subscriber, subscription_id, change_request_of(body))


@own_routes.post(
    "/subscriptions/{subscription_id}/changes",
    status_code=202,
    response_model=ChangeStarted,
    summary="Change plan (upgrade now, downgrade at the end of the term), buy or cancel an add-on",
)
async def change_my_subscription(
    subscription_id: str,
    body: MeChange,
    subscriber: SubscriberDep,
    write: SubscriberWriteDep,
    settings: SettingsDep,
    gateway: TemporalGatewayDep,
) -> Response:
    request = change_request_of(body)

    def prepare(session: Session, sub: Subscription, process_id: str, actor: str) -> ChangePlan:
        own(subscriber, "subscription", subscription_id, sub.account_id)
        return prepare_change(session, sub, request, process_id, actor)

    principal = await run_in_threadpool(_principal, settings.database_url or "", subscriber)
    payload = body.model_dump(mode="json")
    return await start_change(
        "change", subscription_id, payload, prepare, principal, write, settings, gateway
    )


def _principal(url: str, subscriber: Any) -> Any:
    with unit_of_work(url) as session:
        return subscriber_principal(session, subscriber)


@own_routes.post(
    "/subscriptions",
    status_code=202,
    response_model=OnboardingStarted,
    summary="Subscribe to a plan from today (an account with no live subscription; the Onboarding process)",
)
async def subscribe(
    body: MeSubscribe,
    subscriber: SubscriberDep,
    write: SubscriberWriteDep,
    settings: SettingsDep,
    gateway: TemporalGatewayDep,
) -> Response:
    account_id = body.account_id or subscriber.account_id
    own(subscriber, "account", account_id, account_id)
    order = SubscriptionOrder(account_id=account_id, items=[OrderItem(plan=body.plan, addons=body.addons)])

    def no_live_subscription(session: Session) -> None:
        session.get(Account, account_id, with_for_update=True)  # one subscribe at a time per account
        live = session.scalar(
            select(Subscription.id).where(
                Subscription.account_id == account_id, Subscription.status.in_(LIVE)
            )
        )
        if live is not None:
            raise Conflict("already_subscribed", f"{account_id} already has subscription {live}")

    principal = await run_in_threadpool(_principal, settings.database_url or "", subscriber)
    payload = body.model_dump(mode="json")
    return await start_onboarding(order, principal, write, settings, gateway, payload, no_live_subscription)


@own_routes.get(
    "/processes/{process_id}",
    response_model=ProcessOut,
    summary="One of your processes (a plan change, a subscription): status, steps, what comes next",
)
async def get_my_process(process_id: str, subscriber: SubscriberDep, temporal: TemporalDep) -> dict[str, Any]:
    if not process_id or len(process_id) > 200:
        raise ApiError(404, "process_not_found", f"No process {process_id} exists or it is not yours")
    description, memo = await describe_process(temporal, process_id)
    if not subscriber.may_see(str(memo.get("account_id") or "")):
        raise ApiError(404, "process_not_found", f"No process {process_id} exists or it is not yours")
    return await process_view(temporal, process_id, description, memo)


for _part in (own_routes, me_account.router, me_invoices.router, me_payments.router):
    router.include_router(_part)
