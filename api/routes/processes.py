"""/v1/processes: the processes of your organisation's subtree, and one with its steps and what comes next."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from activities.shared.visibility import find_visible_organisation
from api.deps import SessionDep, StaffDep, TemporalDep
from api.errors import ApiError
from api.processes import (
    ProcessFilters,
    describe_process,
    list_processes,
    process_view,
    visible_subtree,
)
from api.schemas.common import Page
from api.schemas.processes import ProcessOut, ProcessSummary

router = APIRouter(prefix="/v1/processes", tags=["processes"])


@router.get(
    "",
    response_model=Page[ProcessSummary],
    summary="List the processes of your organisation's subtree, newest first",
    description=(
        "Filters: `type` (a process name such as Onboarding, Dunning, SubscriptionSuspend, or a workflow "
        "type), `status` (running, completed, failed, cancelled, terminated, timed_out, continued_as_new), "
        "`account_id`, `subscription_id`, `invoice_id`, `started_since`. A bad filter is a 422 "
        "`invalid_filter`. Pass `next_cursor` as `cursor` with the same filters for the next page."
    ),
)
async def list_all(
    principal: StaffDep,
    session: SessionDep,
    temporal: TemporalDep,
    type: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    account_id: Annotated[str | None, Query(max_length=64)] = None,
    subscription_id: Annotated[str | None, Query(max_length=64)] = None,
    invoice_id: Annotated[str | None, Query(max_length=64)] = None,
    started_since: Annotated[datetime | None, Query(description="only processes started at or after")] = None,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    filters = ProcessFilters(type, status, account_id, subscription_id, invoice_id, started_since)
    filters.check()
    subtree = await run_in_threadpool(visible_subtree, session, principal)
    rows, next_cursor = await list_processes(temporal, subtree, filters, cursor, limit)
    return {"data": rows, "next_cursor": next_cursor, "has_more": next_cursor is not None}


@router.get(
    "/{process_id}",
    response_model=ProcessOut,
    summary="A process: status, current step, steps, failures and what happens next",
)
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
