"""POST /v1/devices/{id}/swap: start DeviceSwap for a subscriber's faulty, damaged or stolen device."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from activities.catalog.records import operator_of
from activities.devices import traceable as device_store
from activities.devices.logins import characteristics_of
from activities.devices.moves import live_service
from activities.devices.warehouse import visible_warehouse
from api.deps import IdempotentWriteDep, SettingsDep, StaffDep, TemporalGatewayDep
from api.process_starter import ProcessStart, start_process
from api.schemas.devices import SwapAccepted, SwapRequest
from domain import process_ids
from domain.errors import Conflict, NotFound
from domain.principal import Principal
from domain.process_ids import ProcessLabels
from models.subscriptions import Subscription
from workflows.device_swap import PROCESS as SWAP_PROCESS
from workflows.device_swap import DeviceSwapInput, DeviceSwapWorkflow, SwappedDevice

router = APIRouter(prefix="/v1/devices", tags=["devices and stock"])


def swap_input(session: Session, principal: Principal, device_id: str, body: SwapRequest) -> DeviceSwapInput:
    device = device_store.visible_device(session, principal, device_id, lock=True)
    if device.state != "assigned" or device.subscription_id is None or device.service_id is None:
        raise Conflict("device_not_assigned", f"device {device.id} is {device.state}, not with a subscriber")
    service = live_service(session, device.service_id)
    subscription = session.get(Subscription, device.subscription_id)
    if subscription is None:
        raise NotFound("subscription", device.subscription_id)
    if body.warehouse_id is not None:
        visible_warehouse(session, principal, body.warehouse_id)
    return DeviceSwapInput(
        organisation_id=subscription.organisation_id,
        operator_id=operator_of(principal),
        account_id=subscription.account_id,
        subscription_id=subscription.id,
        service_id=service.line_id,
        service_kind=service.product_kind,
        plan_code=service.plan_code,
        plan_version=service.plan_version,
        currency=subscription.currency,
        characteristics=characteristics_of(session, subscription, service),
        old_device=SwappedDevice(
            id=device.id,
            serial=device.serial,
            mac=device.mac,
            smartcard_id=device.smartcard_id,
            product_code=device.product_code,
        ),
        reason=body.reason,
        warehouse_id=body.warehouse_id,
        fee_amount_minor=body.fee_amount_minor,
        requested_by=principal.key_id,
    )


def swap_start(process_id: str, request: DeviceSwapInput) -> ProcessStart:
    """The DeviceSwap process of a request, labelled by the subscription whose device it swaps."""
    labels = ProcessLabels(
        process=SWAP_PROCESS,
        summary=f"Swap of device {request.old_device.serial} ({request.reason.value})",
        organisation_id=request.organisation_id,
        account_id=request.account_id,
        subscription_id=request.subscription_id,
    )
    return ProcessStart(DeviceSwapWorkflow.run, request, process_id, labels)


@router.post("/{device_id}/swap", status_code=202, response_model=SwapAccepted, summary="Swap a device")
async def swap_device(
    device_id: str,
    body: SwapRequest,
    principal: StaffDep,
    write: IdempotentWriteDep,
    settings: SettingsDep,
    temporal: TemporalGatewayDep,
) -> JSONResponse:
    """Replace a subscriber's faulty, damaged (fee) or stolen device; follow it at /v1/processes/{id}.

    The process id is derived from the Idempotency-Key: the same request twice is one process.
    """
    process_id = process_ids.device_swap(principal.organisation_id, device_id, write.key)

    def produce(session: Session) -> dict[str, Any]:
        swap = swap_input(session, principal, device_id, body)
        accepted = SwapAccepted(process_id=process_id, device_id=device_id, reason=body.reason)
        return {**accepted.model_dump(mode="json"), "input": swap.model_dump(mode="json")}

    stored = await run_in_threadpool(write.store, body, produce, status=202)
    body_out = dict(stored.body)
    swap = DeviceSwapInput.model_validate(body_out.pop("input"))
    await start_process(
        await temporal.client(), settings, swap_start(body_out["process_id"], swap), replayed=stored.replayed
    )
    return JSONResponse(body_out, status_code=stored.status, headers=stored.headers)
