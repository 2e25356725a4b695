"""Starting and describing Temporal processes on behalf of API callers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.client import Client, WorkflowExecutionDescription
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from api.process_starter import ProcessStart, start_process
from domain.process_ids import ProcessLabels
from domain.verification import PROCESS
from runtime.settings import Settings
from workflows.account_verification import AccountVerificationWorkflow, VerificationInput

_STATUS: dict[int, str] = {
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING: "running",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED: "completed",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED: "failed",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED: "cancelled",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED: "terminated",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: "continued_as_new",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT: "timed_out",
}


def unavailable(exc: Exception) -> ApiError:
    return ApiError(
        503, "temporal_unavailable", f"Temporal did not answer ({exc.__class__.__name__}); retry shortly"
    )


async def start_account_verification(
    client: Client, settings: Settings, account: dict[str, Any], *, replayed: bool = False
) -> None:
    """Start the AccountVerification process of a new account (or of a new address)."""
    request = VerificationInput(
        account_id=account["id"],
        organisation_id=account["organisation_id"],
        email=account["email"],
        display_name=account["display_name"],
        language=account["language"],
        wait_hours=settings.verification_hours,
    )
    labels = ProcessLabels(
        process=PROCESS,
        summary=f"Verification of {account['display_name']}'s email {account['email']}",
        organisation_id=account["organisation_id"],
        account_id=account["id"],
    )
    start = ProcessStart(AccountVerificationWorkflow.run, request, account["process_id"], labels)
    await start_process(client, settings, start, replayed=replayed)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def describe_process(
    client: Client, process_id: str
) -> tuple[WorkflowExecutionDescription, dict[str, Any]]:
    handle = client.get_workflow_handle(process_id)
    try:
        description = await handle.describe()
    except RPCError as exc:
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise ApiError(
                404, "process_not_found", f"No process {process_id} exists or it is not yours"
            ) from exc
        raise unavailable(exc) from exc
    memo = dict(await description.memo())
    return description, memo


async def process_view(
    client: Client, process_id: str, description: WorkflowExecutionDescription, memo: dict[str, Any]
) -> dict[str, Any]:
    status = _STATUS.get(int(description.status), "unknown") if description.status else "unknown"
    step: str | None = None
    detail: dict[str, Any] = {}
    try:
        queried = await client.get_workflow_handle(process_id).query("status")
        if isinstance(queried, dict):
            detail = queried
            step = queried.get("step")
    except Exception:
        step = None
    return {
        "id": process_id,
        "object": "process",
        "process": description.workflow_type,
        "status": status,
        "step": step or status,
        "detail": detail,
        "account_id": memo.get("account_id"),
        "organisation_id": memo.get("organisation_id"),
        "started_at": _iso(description.start_time),
        "closed_at": _iso(description.close_time),
    }
