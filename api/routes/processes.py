"""/v1/processes/{id}: the status and current step of any process your organisation owns."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from activities.shared.visibility import find_visible_organisation
from api.deps import SessionDep, StaffDep, TemporalDep
from api.errors import ApiError
from api.processes import describe_process, process_view
from api.schemas.processes import ProcessOut

router = APIRouter(prefix="/v1/processes", tags=["processes"])


@router.get("/{process_id}", response_model=ProcessOut, summary="Status and current step of a process")
async def get_process(
    process_id: str, principal: StaffDep, session: SessionDep, temporal: TemporalDep
) -> dict[str, Any]:
    if not process_id or len(process_id) > 200:
        raise ApiError(404, "process_not_found", f"No process {process_id} exists or it is not yours")
    description, memo = await describe_process(temporal, process_id)
    org_id = str(memo.get("organisation_id") or "")

    if not org_id or await run_in_threadpool(find_visible_organisation, session, principal, org_id) is None:
        raise ApiError(404, "process_not_found", f"No process {process_id} exists or it is not yours")
    return await process_view(temporal, process_id, description, memo)
