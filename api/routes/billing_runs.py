"""/v1/billing-runs: start (or join) a bill run for a cycle and period, preview it, follow it."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.billing.io import RunInput
from activities.catalog.records import operator_of
from api.deps import IdempotencyKeyDep, OperatorAdminDep, SettingsDep, StaffDep, TemporalGatewayDep
from api.errors import ApiError
from api.idempotency import run_once
from api.schemas.common import Strict
from domain.ids import new_id
from models.base import unit_of_work
from models.billing import BillingRun
from workflows.billing_cycle import BillingCycleWorkflow

router = APIRouter(prefix="/v1/billing-runs", tags=["billing"])
CYCLES = (*range(1, 29), 31)


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


@router.post("", status_code=202, summary="Start a bill run (or join the one already running)")
async def start_run(
    body: BillingRunCreate,
    request: Request,
    principal: OperatorAdminDep,
    settings: SettingsDep,
    key: IdempotencyKeyDep,
    gateway: TemporalGatewayDep,
) -> JSONResponse:
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

    def open_row() -> tuple[dict[str, Any], bool]:
        try:
            with unit_of_work(settings.database_url or "") as session:

                def produce() -> tuple[int, dict[str, Any]]:
                    run_id = new_id("run")
                    row = BillingRun(
                        id=run_id,
                        organisation_id=operator,
                        bill_day=body.bill_day,
                        period_date=period,
                        dry_run=body.dry_run,
                        status="running",
                        process_id=f"billing-{run_id}",
                        counts={},
                        amounts={},
                        failures=[],
                    )
                    session.add(row)
                    session.flush()
                    return 202, run_out(row)

                stored = run_once(
                    session,
                    organisation_id=principal.organisation_id,
                    key=key,
                    method="POST",
                    path=request.url.path,
                    payload=body.model_dump(mode="json"),
                    produce=produce,
                )
                return stored.body, True
        except IntegrityError:
            with unit_of_work(settings.database_url or "") as session:
                running = session.execute(
                    select(BillingRun).where(
                        BillingRun.organisation_id == operator,
                        BillingRun.bill_day == body.bill_day,
                        BillingRun.period_date == period,
                        BillingRun.dry_run == body.dry_run,
                        BillingRun.status == "running",
                    )
                ).scalar_one()
                return {**run_out(running), "joined": True}, False

    out, started_here = await run_in_threadpool(open_row)
    if started_here:
        run = RunInput(
            run_id=out["id"],
            organisation_id=operator,
            bill_day=body.bill_day,
            period_date=period,
            dry_run=body.dry_run,
            page_size=body.page_size,
            parallelism=body.parallelism,
        )
        try:
            client = await gateway.client()
            await client.start_workflow(
                BillingCycleWorkflow.run,
                run,
                id=out["process_id"],
                task_queue=settings.task_queue,
                memo={"organisation_id": operator, "billing_run_id": out["id"]},
            )
        except WorkflowAlreadyStartedError:
            pass
        except RPCError as exc:
            raise ApiError(
                503,
                "temporal_unavailable",
                f"the bill run could not start ({exc.message}); retry the "
                "same request with the same Idempotency-Key",
            ) from exc
    return JSONResponse(out, status_code=202)


@router.post("/schedules", summary="Create or update the Temporal Schedule of every bill cycle")
async def ensure_schedules(
    principal: OperatorAdminDep, settings: SettingsDep, gateway: TemporalGatewayDep
) -> dict[str, Any]:
    """Idempotent: cycles 1-28 run on their day, the last-day cycle on days 28-31, at 02:00 UTC."""
    from runtime.schedules import ensure_billing_schedules, next_runs

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


@router.get("/{run_id}", summary="A bill run: status, counts done and failed, amounts by currency")
async def get_run(
    run_id: str, principal: StaffDep, settings: SettingsDep, gateway: TemporalGatewayDep
) -> dict[str, Any]:
    def load() -> dict[str, Any]:
        with unit_of_work(settings.database_url or "") as session:
            row = session.get(BillingRun, run_id)
            if row is None or row.organisation_id != operator_of(principal):
                raise ApiError(
                    404, "billing_run_not_found", f"No bill run {run_id} exists or it is not yours"
                )
            return run_out(row)

    out = await run_in_threadpool(load)
    if out["status"] == "running":
        try:
            client = await gateway.client()
            out["progress"] = await client.get_workflow_handle(out["process_id"]).query("status")
        except (ApiError, RPCError):
            out["progress"] = None
    return out
