"""/v1/subscriptions: onboarding, plan changes, suspend/resume/terminate/regret, and reads.

Writes start a process and answer 202 with its id; reads come straight from the database.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.accounts.records import visible_account
from activities.shared.pagination import fetch_page
from activities.subscriptions import records as store
from activities.subscriptions.changes import ActionRequest, ChangeRequest, prepare_action, prepare_change
from activities.subscriptions.io import ChangePlan
from activities.subscriptions.onboarding import SubscriptionOrder
from api.deps import (
    IdempotentWriteDep,
    SessionDep,
    SettingsDep,
    StaffDep,
    TemporalGatewayDep,
)
from api.errors import ApiError
from api.onboarding_start import start_onboarding
from api.process_starter import signal_process
from api.schemas.common import Page
from api.schemas.subscriptions import (
    ChangeCancelling,
    ChangeStarted,
    OnboardingStarted,
    SubscriptionDetail,
    SubscriptionOut,
)
from api.subscription_changes import start_change
from api.subscription_views import subscription_view
from models.organisations import Organisation
from models.subscriptions import ScheduledChange, Subscription

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])


@router.post(
    "",
    status_code=202,
    response_model=OnboardingStarted,
    summary="Onboard a subscription (starts the Onboarding process)",
)
async def create_subscription(
    body: SubscriptionOrder,
    principal: StaffDep,
    write: IdempotentWriteDep,
    settings: SettingsDep,
    gateway: TemporalGatewayDep,
) -> Response:
    return await start_onboarding(body, principal, write, settings, gateway)


@router.post(
    "/{subscription_id}/changes",
    status_code=202,
    response_model=ChangeStarted,
    summary="Change plan or add/remove an add-on",
)
async def change_subscription(
    subscription_id: str,
    body: ChangeRequest,
    principal: StaffDep,
    write: IdempotentWriteDep,
    settings: SettingsDep,
    gateway: TemporalGatewayDep,
) -> Response:
    def prepare(session: Session, sub: Subscription, process_id: str, actor: str) -> ChangePlan:
        return prepare_change(session, sub, body, process_id, actor)

    payload = body.model_dump(mode="json")
    return await start_change(
        "change", subscription_id, payload, prepare, principal, write, settings, gateway
    )


Action = Literal["suspend", "resume", "terminate", "regret"]


@router.post(
    "/{subscription_id}/{action}",
    status_code=202,
    response_model=ChangeStarted,
    summary="Suspend, resume, terminate (now or at the end of the term) or regret a subscription",
)
async def act_on_subscription(
    subscription_id: str,
    action: Action,
    body: ActionRequest,
    principal: StaffDep,
    write: IdempotentWriteDep,
    settings: SettingsDep,
    gateway: TemporalGatewayDep,
) -> Response:
    def prepare(session: Session, sub: Subscription, process_id: str, actor: str) -> ChangePlan:
        return prepare_action(session, sub, action, body, process_id, actor)

    payload = body.model_dump(mode="json")
    return await start_change(action, subscription_id, payload, prepare, principal, write, settings, gateway)


@router.delete(
    "/{subscription_id}/changes/{change_id}",
    response_model=ChangeCancelling,
    summary="Cancel a scheduled change",
)
async def cancel_change(
    subscription_id: str,
    change_id: str,
    principal: StaffDep,
    session: SessionDep,
    gateway: TemporalGatewayDep,
) -> dict[str, Any]:
    def find() -> str:
        store.visible(session, principal, subscription_id)
        row = session.get(ScheduledChange, change_id)
        if row is None or row.subscription_id != subscription_id:
            raise ApiError(404, "change_not_found", f"No scheduled change {change_id} on {subscription_id}")
        if row.status != "pending":
            raise ApiError(409, "change_not_pending", f"{change_id} is already {row.status}")
        return row.process_id

    process_id = await run_in_threadpool(find)
    await signal_process(await gateway.client(), process_id, "cancel")  # PlanChange or SubscriptionAction
    return {"id": change_id, "object": "scheduled_change", "status": "cancelling", "process_id": process_id}


@router.get("", response_model=Page[SubscriptionOut], summary="List subscriptions")
def list_subscriptions(
    principal: StaffDep,
    session: SessionDep,
    account_id: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[
        str | None, Query(pattern="^(draft|active|suspended|terminated|regretted|failed)$")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    stmt = (
        select(Subscription)
        .join(Organisation, Organisation.id == Subscription.organisation_id)
        .where(Organisation.path.startswith(principal.organisation_path, autoescape=True))
    )
    if account_id:
        visible_account(session, principal, account_id)
        stmt = stmt.where(Subscription.account_id == account_id)
    if status:
        stmt = stmt.where(Subscription.status == status)
    if cursor:
        stmt = stmt.where(Subscription.id > cursor)
    rows, more = fetch_page(session, stmt.order_by(Subscription.id), limit)
    data = [subscription_view(session, row, brief=True) for row in rows]
    return {"data": data, "next_cursor": data[-1]["id"] if more else None, "has_more": more}


@router.get(
    "/{subscription_id}",
    response_model=SubscriptionDetail,
    summary="A subscription: services, dates, prices, scheduled changes, history",
)
def get_subscription(subscription_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    return subscription_view(session, store.visible(session, principal, subscription_id))
