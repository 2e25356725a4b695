"""POST /v1/devices/{id}/swap: start DeviceSwap for a subscriber's faulty, damaged or stolen device."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from api.deps import IdempotentWriteDep, SettingsDep, StaffDep, TemporalGatewayDep
from api.device_swaps import swap_input, swap_start
from api.process_starter import start_process
from api.schemas.devices import SwapAccepted, SwapRequest
from domain import process_ids
from workflows.device_swap import DeviceSwapInput

router = APIRouter(prefix="/v1/devices", tags=["devices and stock"])


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
