"""/v1/billing-runs: start (or join) a bill run for a cycle and period, preview it, follow it."""

from __future__ import annotations

import calendar
import time
from datetime import UTC, date, datetime
from typing import Any

from anyio import from_thread
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.service import RPCError

from activities.billing.bill_run import new_run_row
from activities.billing.io import RunInput
from activities.billing.run_rows import running_run
from activities.catalog.records import operator_of
from api.deps import (
    IdempotentWriteDep,
    OperatorAdminDep,
    SessionDep,
    SettingsDep,
    StaffDep,
    TemporalGateway,
    TemporalGatewayDep,
)
from api.errors import ApiError
from api.idempotency import IdempotentWrite
from api.process_starter import ProcessStart, start_process
from api.schemas.billing import BillingRunOut, BillingSchedules
from api.schemas.common import Strict
from domain import process_ids
from domain.ids import new_id
from domain.process_ids import ProcessLabels
from models.base import unit_of_work
from models.billing import BillingRun
from runtime.schedules import ensure_billing_schedules, next_runs
from runtime.settings import Settings
from workflows.billing_cycle import BillingCycleWorkflow

router = APIRouter(prefix="/v1/billing-runs", tags=["billing"])
CYCLES = (*range(1, 29), 31)
OPEN_ROW_SECONDS = 3.0  # how long the route waits for the process to open its row before answering


class BillingRunCreate(Strict):
    bill_day: int = Field(ge=1, le=31, description="The cycle: 1-28, or 31 for the last day of the month")
    period_date: date | None = Field(
        default=None, description="Bill what is due up to this date; default today"
    )
    dry_run: bool = Field(default=False, description="Preview: compute counts and amounts, write nothing")
    page_size: int = Field(default=500, ge=1, le=5000)
    parallelism: int = Field(default=4, ge=1, le=32)


def next_cycle_date(cycle: int, today: date) -> date:
    """The next date (today included) on which the cycle runs."""
    year, month = today.year, today.month
    for _ in range(2):
        last = calendar.monthrange(year, month)[1]
        day = last if cycle == 31 else cycle
        if date(year, month, day) >= today:
            return date(year, month, day)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise AssertionError("unreachable")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def run_out(row: BillingRun) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "billing_run",
        "bill_day": row.bill_day,
        "period_date": row.period_date.isoformat(),
        "dry_run": row.dry_run,
        "status": row.status,
        "process_id": row.process_id,
        "counts": row.counts,
        "amounts": row.amounts,
        "failures": row.failures[:100],
        "created_at": row.created_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }


@router.post(
    "",
    status_code=202,
    response_model=BillingRunOut,
    summary="Start a bill run (or join the one already running)",
)
async def start_run(
    body: BillingRunCreate,
    request: Request,
    principal: OperatorAdminDep,
    settings: SettingsDep,
    write: IdempotentWriteDep,
    gateway: TemporalGatewayDep,
) -> Response:
    if body.bill_day not in CYCLES:
        raise ApiError(
            422, "unknown_cycle", f"cycle {body.bill_day} does not exist: use 1-28, or 31 for the last day"
        )
    today = datetime.now(UTC).date()
    period = body.period_date or today
    if period > next_cycle_date(body.bill_day, today):
        raise ApiError(
            422,
            "period_too_far",
            f"{period} is beyond the next run of cycle {body.bill_day} "
            f"({next_cycle_date(body.bill_day, today)})",
        )
    operator = operator_of(principal)
    return await run_in_threadpool(_start_or_join, body, write, settings, gateway, operator, period)


class _Joined(Exception):
    """A run of the same cycle, period and kind is running: the request joins it (and stores nothing)."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body["id"])
        self.body = body


def _start_or_join(
    body: BillingRunCreate,
    write: IdempotentWrite,
    settings: Settings,
    gateway: TemporalGateway,
    operator: str,
    period: date,
) -> Response:
    """Start the BillingCycle process once per key (it opens its row); the row, or the run joined."""
    run_id = new_id("run")
    run = RunInput(
        run_id=run_id,
        organisation_id=operator,
        bill_day=body.bill_day,
        period_date=period,
        dry_run=body.dry_run,
        page_size=body.page_size,
        parallelism=body.parallelism,
    )

    def produce(session: Session) -> dict[str, Any]:
        _join_if_running(settings, run)
        process_id = process_ids.billing_run(run_id)
        from_thread.run(_start_cycle, gateway, settings, run, process_id)
        return _opened_row(settings, run, process_id)

    try:
        return write.store(body, produce, status=202).response()
    except _Joined as joined:  # nothing stored: a later request may start the next run of the cycle
        return JSONResponse({**joined.body, "joined": True}, status_code=202)


async def _start_cycle(gateway: TemporalGateway, settings: Settings, run: RunInput, process_id: str) -> None:
    dry = " (dry run)" if run.dry_run else ""
    labels = ProcessLabels(
        process="BillingCycle",
        summary=f"Bill run {run.run_id} of cycle {run.bill_day} for {run.period_date}{dry}",
        organisation_id=run.organisation_id,
        memo_extra={"billing_run_id": run.run_id},
    )
    start = ProcessStart(BillingCycleWorkflow.run, run, process_id, labels)
    await start_process(await gateway.client(), settings, start, replayed=True)


def _join_if_running(settings: Settings, run: RunInput) -> None:
    running = running_run(settings.database_url or "", run)
    if running is not None:
        raise _Joined(run_out(running))


def _opened_row(settings: Settings, run: RunInput, process_id: str) -> dict[str, Any]:
    """The row the process opens first (read, waited for a moment), or the running run it joined.

    A process not yet picked up by a worker (busy, or restarting) has not opened its row: the answer is
    then the run as accepted, ``running`` with nothing counted yet, and the row appears when it starts.
    """
    deadline = time.monotonic() + OPEN_ROW_SECONDS
    while time.monotonic() < deadline:
        with unit_of_work(settings.database_url or "") as session:
            row = session.execute(
                select(BillingRun).where(BillingRun.process_id == process_id)
            ).scalar_one_or_none()
            if row is not None:
                return run_out(row)
        _join_if_running(settings, run)
        time.sleep(0.05)
    accepted = new_run_row(run, process_id)  # not saved: the run as accepted, shaped as a stored one
    return run_out(accepted)


@router.post(
    "/schedules",
    response_model=BillingSchedules,
    summary="Create or update the Temporal Schedule of every bill cycle",
)
async def ensure_schedules(
    principal: OperatorAdminDep, settings: SettingsDep, gateway: TemporalGatewayDep
) -> dict[str, Any]:
    """Idempotent: cycles 1-28 run on their day, the last-day cycle on days 28-31, at 02:00 UTC."""
    operator = operator_of(principal)
    client = await gateway.client()
    ids = await ensure_billing_schedules(client, settings, operator)
    upcoming = await next_runs(client, operator)
    return {
        "object": "billing_schedules",
        "schedules": [
            {
                "id": sid,
                "bill_day": cycle,
                "next_run_at": _iso(upcoming[cycle]),
            }
            for sid, cycle in zip(ids, upcoming, strict=True)
        ],
    }


@router.get(
    "/{run_id}",
    response_model=BillingRunOut,
    response_model_exclude_unset=True,
    summary="A bill run: status, counts done and failed, amounts by currency",
)
async def get_run(
    run_id: str, principal: StaffDep, session: SessionDep, gateway: TemporalGatewayDep
) -> dict[str, Any]:
    def load() -> dict[str, Any]:
        row = session.get(BillingRun, run_id)
        if row is None or row.organisation_id != operator_of(principal):
            raise ApiError(404, "billing_run_not_found", f"No bill run {run_id} exists or it is not yours")
        return run_out(row)

    out = await run_in_threadpool(load)
    if out["status"] == "running":
        try:
            client = await gateway.client()
            out["progress"] = await client.get_workflow_handle(out["process_id"]).query("status")
        except (ApiError, RPCError):
            out["progress"] = None
    return out
