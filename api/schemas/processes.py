"""Response body of /v1/processes/{id}."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import IsoDateTime


class ProcessOut(BaseModel):
    id: str
    object: Literal["process"] = "process"
    process: str = Field(description="The workflow type, e.g. Onboarding, PlanChange, DeviceSwap")
    status: str = Field(description="running, completed, failed, cancelled, terminated, timed_out, ...")
    step: str = Field(description="The step the process reports (its status when it reports none)")
    detail: dict[str, Any] = Field(description="What the process reports about itself")
    account_id: str | None
    organisation_id: str | None
    started_at: IsoDateTime | None
    closed_at: IsoDateTime | None
