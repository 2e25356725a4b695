"""Response bodies of /v1/processes (the list) and /v1/processes/{id} (one process)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import IsoDateTime


class ProcessSummary(BaseModel):
    """A process in the list: what it is, whom it concerns, its status."""

    id: str
    object: Literal["process"] = "process"
    process: str = Field(
        description="The process name (the `Process` search attribute), e.g. SubscriptionSuspend"
    )
    workflow_type: str = Field(description="The Temporal workflow type, e.g. SubscriptionAction")
    status: str = Field(description="running, completed, failed, cancelled, terminated, timed_out, ...")
    organisation_id: str | None
    account_id: str | None
    subscription_id: str | None
    invoice_id: str | None
    parent_id: str | None = Field(description="The process that started this one, if any")
    started_at: IsoDateTime | None
    closed_at: IsoDateTime | None


class ProcessStep(BaseModel):
    """An activity, child process, timer or signal of the process's history."""

    kind: Literal["activity", "child", "timer", "signal"]
    name: str = Field(description="The activity or child process type, `timer <id>`, or the signal's name")
    started_at: datetime | None
    ended_at: datetime | None
    outcome: str = Field(
        description="running, retrying, completed, failed, timed_out, cancelled, terminated, fired, "
        "received, not_started, abandoned (the process closed first)"
    )
    attempt: int | None = Field(default=None, description="The attempt an activity is at (or ended on)")
    reason: str | None = Field(default=None, description="Why it failed (or why its last attempt did)")
    process_id: str | None = Field(default=None, description="A child step's process id")
    fires_at: datetime | None = Field(default=None, description="When a timer fires")
    next_attempt_at: datetime | None = Field(default=None, description="When a retrying activity runs again")


class ProcessFailure(BaseModel):
    step: str = Field(description="The failed step's name, or `process` for the process itself")
    kind: str
    reason: str
    attempt: int | None = None
    at: datetime | None


class ProcessNext(BaseModel):
    at: datetime
    what: str
    source: Literal["process", "timer", "retry"] = Field(
        description="process: the process's own plan; timer: a pending timer; retry: a step's next attempt"
    )


class ProcessOut(BaseModel):
    id: str
    object: Literal["process"] = "process"
    process: str = Field(description="The workflow type, e.g. Onboarding, PlanChange, DeviceSwap")
    status: str = Field(description="running, completed, failed, cancelled, terminated, timed_out, ...")
    step: str = Field(description="The step the process reports (its status when it reports none)")
    summary: str | None = Field(default=None, description="The readable summary shown in the Temporal UI")
    current_details: str | None = Field(
        default=None, description="The current step as the Temporal UI shows it (running processes)"
    )
    detail: dict[str, Any] = Field(description="What the process reports about itself")
    account_id: str | None
    organisation_id: str | None
    subscription_id: str | None = None
    invoice_id: str | None = None
    started_at: IsoDateTime | None
    closed_at: IsoDateTime | None
    steps: list[ProcessStep] = Field(default_factory=list, description="Oldest first (the latest 200)")
    steps_truncated: bool = False
    failures: list[ProcessFailure] = Field(default_factory=list)
    next: list[ProcessNext] = Field(
        default_factory=list,
        description="What happens next, soonest first: a dunning case's coming steps, a scheduled change's "
        "effective date, a pending timer, a step's next attempt",
    )
