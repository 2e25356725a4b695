"""/v1/provisioning: operator tools — failed orders, re-running them, resync with the platforms.

The adapters come from ``runtime.provisioning.build_registry`` (built once per app; tests may set
``app.state.provisioning_registry``). Re-runs and resyncs call the provisioning activity directly:
they are plain operator actions with no process to follow.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from activities.accounts.organisations import Principal
from activities.provisioning.operator_tools import list_orders, retry_order, visible_order
from activities.provisioning.orders import ProvisioningActivities
from activities.provisioning.resync import ResyncReport, resync
from api.deps import IdempotencyKeyDep, OperatorAdminDep, OperatorStaffDep, SessionDep, SettingsDep
from api.idempotency import run_once
from api.schemas.common import Page
from api.schemas.provisioning import ProvisioningOrderOut, RetryOut
from integrations.provisioning.base import AdapterRegistry
from models.base import unit_of_work
from models.subscriptions import ProvisioningOrder
from runtime.provisioning import build_registry
from runtime.settings import Settings

router = APIRouter(prefix="/v1/provisioning", tags=["provisioning"])


def _activities(request: Request, settings: Settings) -> ProvisioningActivities:
    registry: AdapterRegistry | None = getattr(request.app.state, "provisioning_registry", None)
    if registry is None:
        registry = build_registry(settings)
        request.app.state.provisioning_registry = registry
    return ProvisioningActivities(settings, registry)


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


def _idempotent(
    settings: Settings, principal: Principal, key: str, path: str, produce: Any
) -> tuple[int, dict[str, Any], bool]:
    with unit_of_work(settings.database_url or "") as session:
        stored = run_once(
            session,
            organisation_id=principal.organisation_id,
            key=key,
            method="POST",
            path=path,
            payload=None,
            produce=produce,
        )
        return stored.status, stored.body, stored.replayed


def _respond(status: int, body: dict[str, Any], replayed: bool) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": "true"} if replayed else {})


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
    key: IdempotencyKeyDep,
) -> JSONResponse:
    activities = _activities(request, settings)

    def produce() -> tuple[int, dict[str, Any]]:
        outcome = retry_order(activities, principal, order_id)
        with unit_of_work(settings.database_url or "") as session:
            row = visible_order(session, principal, order_id)
            return 200, {"order": order_out(row), "outcome": outcome.state, "detail": outcome.detail}

    return _respond(
        *await run_in_threadpool(_idempotent, settings, principal, key, request.url.path, produce)
    )


@router.post("/resync", response_model=ResyncReport, summary="Compare the platforms with what should be live")
async def post_resync(
    request: Request, principal: OperatorAdminDep, settings: SettingsDep, key: IdempotencyKeyDep
) -> JSONResponse:
    activities = _activities(request, settings)

    def produce() -> tuple[int, dict[str, Any]]:
        return 200, resync(activities, principal, key).model_dump(mode="json")

    return _respond(
        *await run_in_threadpool(_idempotent, settings, principal, key, request.url.path, produce)
    )
