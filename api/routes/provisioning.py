"""/v1/provisioning: operator tools — failed orders, re-running them, resync with the platforms.

Re-runs and resyncs run as processes (ProvisioningRetry, ProvisioningResync) on the worker, which has
the provisioning adapters; the route waits for the outcome and answers with it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from activities.provisioning.callbacks import receive_callback
from activities.provisioning.io import OrderRetried, OrderRetry, Resync, ResyncReport
from activities.provisioning.operator_tools import list_orders, visible_order
from api.deps import IdempotentWriteDep, OperatorAdminDep, OperatorStaffDep, SessionDep, SettingsDep
from api.process_results import run_process
from api.process_starter import ProcessStart
from api.schemas.common import Page
from api.schemas.provisioning import ProvisioningCallbackOut, ProvisioningOrderOut, RetryOut
from domain import process_ids
from domain.principal import Principal
from domain.process_ids import ProcessLabels
from models.base import unit_of_work
from models.subscriptions import ProvisioningOrder
from runtime.settings import Settings
from workflows.provisioning_repair import ProvisioningResyncWorkflow, ProvisioningRetryWorkflow

router = APIRouter(prefix="/v1/provisioning", tags=["provisioning"])


def order_out(row: ProvisioningOrder) -> dict[str, Any]:
    return ProvisioningOrderOut.model_validate(row).model_dump(mode="json")


@router.get("/orders", response_model=Page[ProvisioningOrderOut], summary="List provisioning orders")
def get_orders(
    principal: OperatorStaffDep,
    session: SessionDep,
    state: Annotated[str | None, Query(pattern="^(pending|done|failed|skipped)$")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    rows, next_cursor = list_orders(session, principal, state, cursor, limit)
    data = [order_out(r) for r in rows]
    return {"data": data, "next_cursor": next_cursor, "has_more": next_cursor is not None}


@router.post(
    "/orders/{order_id}/retry",
    response_model=RetryOut,
    summary="Re-run a failed order through the adapters now",
)
async def retry(
    order_id: str,
    request: Request,
    principal: OperatorStaffDep,
    settings: SettingsDep,
    write: IdempotentWriteDep,
) -> Response:
    """Runs a ProvisioningRetry process and answers with the order as it ended."""
    await run_in_threadpool(_check_order, settings, principal, order_id)
    retried = await run_process(
        request.app.state.temporal,
        settings,
        ProcessStart(
            ProvisioningRetryWorkflow.run,
            OrderRetry(principal=principal, order_id=order_id),
            process_ids.provisioning_retry(order_id, write.key),
            ProcessLabels(
                process="ProvisioningRetry",
                summary=f"Retry of provisioning order {order_id}",
                organisation_id=principal.organisation_id,
            ),
        ),
        OrderRetried,
    )

    def produce(session: Session) -> dict[str, Any]:
        row = visible_order(session, principal, order_id)
        return {"order": order_out(row), "outcome": retried.outcome, "detail": retried.detail}

    return (await run_in_threadpool(write.store, None, produce, status=200)).response()


def _check_order(settings: Settings, principal: Principal, order_id: str) -> None:
    with unit_of_work(settings.database_url or "") as session:
        visible_order(session, principal, order_id)


@router.post("/resync", response_model=ResyncReport, summary="Compare the platforms with what should be live")
async def post_resync(
    request: Request, principal: OperatorAdminDep, settings: SettingsDep, write: IdempotentWriteDep
) -> Response:
    """Runs a ProvisioningResync process and answers with its report."""
    report = await run_process(
        request.app.state.temporal,
        settings,
        ProcessStart(
            ProvisioningResyncWorkflow.run,
            Resync(principal=principal, key=write.key),
            process_ids.provisioning_resync(principal.organisation_id, write.key),
            ProcessLabels(
                process="ProvisioningResync",
                summary=f"Resync of {principal.organisation_id}'s services with their platforms",
                organisation_id=principal.organisation_id,
            ),
        ),
        ResyncReport,
    )

    def produce(session: Session) -> dict[str, Any]:
        return dict(report.model_dump(mode="json"))

    return (await run_in_threadpool(write.store, None, produce, status=200)).response()


@router.post(
    "/callbacks/mvno",
    response_model=ProvisioningCallbackOut,
    summary="The MVNO host's order outcomes (signed by the host; no API key)",
    description="The host's `X-MVNO-Signature` (HMAC-SHA256 of `<t>.<body>` with the shared callback "
    "secret) is the credential: 401 `invalid_signature` when it does not sign the body (logged, nothing "
    "changes). A copy of a callback already received answers 200 with `duplicate: true` and changes nothing.",
)
async def mvno_callback(request: Request, settings: SettingsDep) -> dict[str, Any]:
    body = await request.body()
    outcome = await run_in_threadpool(
        receive_callback,
        settings.database_url or "",
        settings.mvno_callback_secret,
        dict(request.headers),
        body,
    )
    return {
        "received": True,
        "event_id": outcome.event_id,
        "outcome": outcome.outcome,
        "duplicate": outcome.duplicate,
        "order_id": outcome.order_id,
    }
