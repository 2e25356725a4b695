"""/v1/subscriptions: onboarding, plan changes, suspend/resume/terminate/regret, and reads.

Writes start a process and answer 202 with its id; reads come straight from the database.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import select

from activities.accounts.records import visible_account
from activities.subscriptions import records as store
from activities.subscriptions.changes import ActionRequest, ChangeRequest, prepare_action, prepare_change
from activities.subscriptions.io import ChangePlan, OnboardingInput
from activities.subscriptions.onboarding import SubscriptionOrder, prepare_onboarding
from api.deps import IdempotencyKeyDep, SettingsDep, StaffDep, TemporalGatewayDep
from api.errors import ApiError
from api.idempotency import run_once
from api.subscription_processes import process_id_for, start_process
from api.subscription_views import subscription_view
from domain.ids import new_id
from models.base import unit_of_work
from models.organisations import Organisation
from models.subscriptions import ScheduledChange, Subscription
from workflows.onboarding import OnboardingWorkflow
from workflows.subscription_change import PlanChangeWorkflow, SubscriptionActionWorkflow

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])


@router.post("", status_code=202, summary="Onboard a subscription (starts the Onboarding process)")
async def create_subscription(
    body: SubscriptionOrder,
    request: Request,
    principal: StaffDep,
    settings: SettingsDep,
    key: IdempotencyKeyDep,
    gateway: TemporalGatewayDep,
) -> JSONResponse:
    def plan() -> tuple[dict[str, Any], Any]:
        with unit_of_work(settings.database_url or "") as session:
            ids: dict[str, str] = {}
            orders: list[OnboardingInput] = []

            def produce() -> tuple[int, dict[str, Any]]:
                sub_id = new_id("sub")
                ids.update(subscription_id=sub_id, process_id=f"onboarding-{sub_id}")
                orders.append(prepare_onboarding(session, principal, body, request_id=key, **ids))
                return 202, {
                    "object": "process_started",
                    "process": "Onboarding",
                    **ids,
                    "account_id": body.account_id,
                }

            stored = run_once(
                session,
                organisation_id=principal.organisation_id,
                key=key,
                method="POST",
                path=request.url.path,
                payload=body.model_dump(mode="json"),
                produce=produce,
            )
            out = stored.body
            if orders:
                return out, orders[0]
            # A replay: plan it again under the stored ids, so a start that failed last time happens now.
            order = prepare_onboarding(
                session,
                principal,
                body,
                request_id=key,
                subscription_id=out["subscription_id"],
                process_id=out["process_id"],
            )
            return out, order

    out, order = await run_in_threadpool(plan)
    await start_process(
        await gateway.client(),
        settings,
        OnboardingWorkflow.run,
        order,
        process_id=out["process_id"],
        process="Onboarding",
        organisation_id=order.organisation_id,
        account_id=order.account_id,
        subscription_id=order.subscription_id,
    )
    return JSONResponse(out, status_code=202)


async def _start_change(
    kind: str,
    sub_id: str,
    payload: dict[str, Any],
    prepare: Any,
    request: Request,
    principal: Any,
    settings: Any,
    key: str,
    gateway: Any,
) -> JSONResponse:
    def plan() -> tuple[dict[str, Any], bool]:
        with unit_of_work(settings.database_url or "") as session:

            def produce() -> tuple[int, dict[str, Any]]:
                sub = store.visible(session, principal, sub_id, lock=True)
                process_id = process_id_for(kind, sub.id, key)
                change: ChangePlan = prepare(session, sub, process_id, principal.key_id)
                store.acquire(session, sub.id, process_id)
                return 202, {
                    "object": "process_started",
                    "process_id": process_id,
                    "subscription_id": sub.id,
                    "account_id": sub.account_id,
                    "organisation_id": sub.organisation_id,
                    "change": change.model_dump(mode="json"),
                }

            stored = run_once(
                session,
                organisation_id=principal.organisation_id,
                key=key,
                method="POST",
                path=request.url.path,
                payload=payload,
                produce=produce,
            )
            return stored.body, stored.replayed

    out, _ = await run_in_threadpool(plan)
    change = ChangePlan.model_validate(out["change"])
    workflow = PlanChangeWorkflow.run if kind == "change" else SubscriptionActionWorkflow.run
    process = "PlanChange" if kind == "change" else f"Subscription{change.action.capitalize()}"
    try:
        await start_process(
            await gateway.client(),
            settings,
            workflow,
            change,
            process_id=out["process_id"],
            process=process,
            organisation_id=out["organisation_id"],
            account_id=out["account_id"],
            subscription_id=change.subscription_id,
        )
    except ApiError:
        await run_in_threadpool(_release, settings, change)
        raise
    return JSONResponse(out, status_code=202)


def _release(settings: Any, change: ChangePlan) -> None:
    with unit_of_work(settings.database_url or "") as session:
        store.release(session, change.subscription_id, change.process_id)


@router.post("/{subscription_id}/changes", status_code=202, summary="Change plan or add/remove an add-on")
async def change_subscription(
    subscription_id: str,
    body: ChangeRequest,
    request: Request,
    principal: StaffDep,
    settings: SettingsDep,
    key: IdempotencyKeyDep,
    gateway: TemporalGatewayDep,
) -> JSONResponse:
    def prepare(session: Any, sub: Subscription, process_id: str, actor: str) -> ChangePlan:
        return prepare_change(session, sub, body, process_id, actor)

    return await _start_change(
        "change",
        subscription_id,
        body.model_dump(mode="json"),
        prepare,
        request,
        principal,
        settings,
        key,
        gateway,
    )


Action = Literal["suspend", "resume", "terminate", "regret"]


@router.post(
    "/{subscription_id}/{action}",
    status_code=202,
    summary="Suspend, resume, terminate (now or at the end of the term) or regret a subscription",
)
async def act_on_subscription(
    subscription_id: str,
    action: Action,
    body: ActionRequest,
    request: Request,
    principal: StaffDep,
    settings: SettingsDep,
    key: IdempotencyKeyDep,
    gateway: TemporalGatewayDep,
) -> JSONResponse:
    def prepare(session: Any, sub: Subscription, process_id: str, actor: str) -> ChangePlan:
        return prepare_action(session, sub, action, body, process_id, actor)

    return await _start_change(
        action,
        subscription_id,
        body.model_dump(mode="json"),
        prepare,
        request,
        principal,
        settings,
        key,
        gateway,
    )


@router.delete("/{subscription_id}/changes/{change_id}", summary="Cancel a scheduled change")
async def cancel_change(
    subscription_id: str,
    change_id: str,
    principal: StaffDep,
    settings: SettingsDep,
    gateway: TemporalGatewayDep,
) -> dict[str, Any]:
    def find() -> str:
        with unit_of_work(settings.database_url or "") as session:
            store.visible(session, principal, subscription_id)
            row = session.get(ScheduledChange, change_id)
            if row is None or row.subscription_id != subscription_id:
                raise ApiError(
                    404, "change_not_found", f"No scheduled change {change_id} on {subscription_id}"
                )
            if row.status != "pending":
                raise ApiError(409, "change_not_pending", f"{change_id} is already {row.status}")
            return row.process_id

    process_id = await run_in_threadpool(find)
    client = await gateway.client()
    await client.get_workflow_handle(process_id).signal("cancel")
    return {"id": change_id, "object": "scheduled_change", "status": "cancelling", "process_id": process_id}


@router.get("", summary="List subscriptions")
def list_subscriptions(
    principal: StaffDep,
    settings: SettingsDep,
    account_id: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[
        str | None, Query(pattern="^(draft|active|suspended|terminated|regretted|failed)$")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    with unit_of_work(settings.database_url or "") as session:
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
        rows = list(session.execute(stmt.order_by(Subscription.id).limit(limit + 1)).scalars())
        more = len(rows) > limit
        data = [subscription_view(session, row, brief=True) for row in rows[:limit]]
        return {"data": data, "next_cursor": data[-1]["id"] if more else None, "has_more": more}


@router.get(
    "/{subscription_id}", summary="A subscription: services, dates, prices, scheduled changes, history"
)
def get_subscription(subscription_id: str, principal: StaffDep, settings: SettingsDep) -> dict[str, Any]:
    with unit_of_work(settings.database_url or "") as session:
        return subscription_view(session, store.visible(session, principal, subscription_id))
