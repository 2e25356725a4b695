"""Response bodies of /v1/billing-runs."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import IsoDateTime


class BillingRunOut(BaseModel):
    id: str
    object: Literal["billing_run"] = "billing_run"
    bill_day: int
    period_date: date
    dry_run: bool
    status: str
    process_id: str
    counts: dict[str, Any] = Field(description="Subscriptions invoiced, skipped, failed…")
    amounts: dict[str, Any] = Field(description="Totals by currency")
    failures: list[Any] = Field(description="The first 100 failures")
    created_at: IsoDateTime
    finished_at: IsoDateTime | None
    progress: Any = Field(default=None, description="While running: what the process reports (omitted after)")
    joined: bool | None = Field(
        default=None, description="On a start: true when it joined a run of the cycle already running"
    )


class ScheduleOut(BaseModel):
    id: str
    bill_day: int
    next_run_at: IsoDateTime | None


class BillingSchedules(BaseModel):
    object: Literal["billing_schedules"] = "billing_schedules"
    schedules: list[ScheduleOut]
