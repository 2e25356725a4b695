"""Starting, listing and describing Temporal processes on behalf of API callers.

A caller sees the processes of its organisation subtree: the list asks Temporal's visibility for
processes whose ``OrganisationPath`` search attribute starts with the subtree's path (or, for processes
started before they carried one, whose ``OrganisationId`` is one of the subtree's organisations, when
there are at most ``MAX_ORGANISATIONS``), and a process of another organisation is not found. The view
adds the steps and failures of the history (api/process_steps.py) and what happens next, from the
process's own ``status`` query.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionDescription
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from api.process_starter import ProcessStart, start_process
from api.process_steps import read_steps
from domain.ids import is_valid_id
from domain.principal import Principal
from domain.process_ids import ProcessLabels
from domain.verification import PROCESS
from models.organisations import Organisation
from runtime.codec import open_failures
from runtime.settings import Settings
from workflows.account_verification import AccountVerificationWorkflow, VerificationInput
from workflows.common import ACCOUNT_ID, INVOICE_ID, ORGANISATION_ID, ORGANISATION_PATH, SUBSCRIPTION_ID
from workflows.common import PROCESS as PROCESS_ATTRIBUTE

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
        summary=f"Email verification of account {account['id']}",
        organisation_id=account["organisation_id"],
        account_id=account["id"],
    )
    start = ProcessStart(AccountVerificationWorkflow.run, request, account["process_id"], labels)
    await start_process(client, settings, start, replayed=replayed)


QUERY_TIMEOUT = timedelta(seconds=5)
"""How long a view waits for a process to answer a query (no worker for its queue: no answer)."""


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
    """The process as staff see it: status, current step, steps, failures and what happens next."""
    status = _STATUS.get(int(description.status), "unknown") if description.status else "unknown"
    handle = client.get_workflow_handle(process_id, run_id=description.run_id)
    step: str | None = None
    detail: dict[str, Any] = {}
    try:
        queried = await handle.query("status", rpc_timeout=QUERY_TIMEOUT)
        if isinstance(queried, dict):
            detail = queried
            step = queried.get("step")
    except Exception:
        step = None
    try:
        history = await handle.fetch_history()
        summary = await description.static_summary()
        details = await _current_details(handle) if status == "running" else None
    except RPCError as exc:
        raise unavailable(exc) from exc
    events = list(history.events)
    await open_failures(client.data_converter, events, description)
    read = read_steps(events, description, status)
    attributes = _attributes(description.typed_search_attributes)
    return {
        "id": process_id,
        "object": "process",
        "process": description.workflow_type,
        "status": status,
        "step": step or status,
        "summary": summary,
        "current_details": details,
        "detail": detail,
        "account_id": memo.get("account_id"),
        "organisation_id": memo.get("organisation_id"),
        "subscription_id": attributes.get("SubscriptionId"),
        "invoice_id": attributes.get("InvoiceId"),
        "started_at": _iso(description.start_time),
        "closed_at": _iso(description.close_time),
        "steps": read["steps"],
        "steps_truncated": read["steps_truncated"],
        "failures": read["failures"],
        "next": _next(status, detail, read),
    }


def _next(status: str, detail: dict[str, Any], read: dict[str, Any]) -> list[dict[str, Any]]:
    """What happens next, soonest first: the process's own dated plan (its ``status`` query's
    ``next``) or, when it tells none, its pending timers; then the pending retries of its steps."""
    if status != "running":
        return []
    told = [
        {"at": item["at"], "what": item["what"], "source": "process"}
        for item in detail.get("next") or []
        if isinstance(item, dict) and item.get("at") and item.get("what")
    ]
    coming = [*(told or read["timers"]), *read["retries"]]
    return sorted(coming, key=lambda item: _as_datetime(item["at"]))


def _as_datetime(value: datetime | str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _current_details(handle: Any) -> str | None:
    """The step a running process shows in the Temporal UI (``workflow.set_current_details``)."""
    try:
        metadata = await handle.query("__temporal_workflow_metadata", rpc_timeout=QUERY_TIMEOUT)
    except Exception:
        return None
    if isinstance(metadata, dict):
        return metadata.get("currentDetails") or metadata.get("current_details") or None
    return getattr(metadata, "current_details", None) or None


def _attributes(typed: Any) -> dict[str, str]:
    return {pair.key.name: pair.value for pair in typed}


# ---- the list ------------------------------------------------------------------------------------

STATUS_FILTERS: dict[str, str] = {
    "running": "Running",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Canceled",
    "terminated": "Terminated",
    "continued_as_new": "ContinuedAsNew",
    "timed_out": "TimedOut",
}
_TYPE_RE = re.compile(r"^[A-Z][A-Za-z0-9]{1,63}$")
_CURSOR_MARK = b"tp1:"
MAX_ORGANISATIONS = 500
"""The subtree's organisations a list query may name (Temporal's visibility query has a size limit): a
larger subtree is listed by ``OrganisationPath`` only."""


@dataclass(frozen=True)
class ProcessFilters:
    """The filters of GET /v1/processes, validated (each value goes into a visibility query)."""

    type: str | None = None
    status: str | None = None
    account_id: str | None = None
    subscription_id: str | None = None
    invoice_id: str | None = None
    started_since: datetime | None = None

    def check(self) -> None:
        """A 422 ``invalid_filter`` naming the filter and what it accepts, for a bad one."""
        if self.type is not None and not _TYPE_RE.match(self.type):
            raise _bad("type", "a process name such as Onboarding, PlanChange or Dunning")
        if self.status is not None and self.status not in STATUS_FILTERS:
            raise _bad("status", "one of " + ", ".join(STATUS_FILTERS))
        for name, prefix in (("account_id", "acc"), ("subscription_id", "sub"), ("invoice_id", "inv")):
            value = getattr(self, name)
            if value is not None and not is_valid_id(value, prefix):
                raise _bad(name, f"an id starting with {prefix}_")

    def clauses(self) -> list[str]:
        found: list[str] = []
        if self.type:
            found.append(f"({PROCESS_ATTRIBUTE.name} = '{self.type}' OR WorkflowType = '{self.type}')")
        if self.status:
            found.append(f"ExecutionStatus = '{STATUS_FILTERS[self.status]}'")
        keys: tuple[tuple[SearchAttributeKey[str], str | None], ...] = (
            (ACCOUNT_ID, self.account_id),
            (SUBSCRIPTION_ID, self.subscription_id),
            (INVOICE_ID, self.invoice_id),
        )
        found.extend(f"{key.name} = '{value}'" for key, value in keys if value)
        if self.started_since:
            since = _as_datetime(self.started_since).astimezone(UTC)
            found.append(f"StartTime >= '{since.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}'")
        return found


def _bad(name: str, accepted: str) -> ApiError:
    return ApiError(422, "invalid_filter", f"The filter {name} is not valid: give {accepted}", field=name)


@dataclass(frozen=True)
class Subtree:
    """The organisations whose processes a caller lists: every process whose ``OrganisationPath`` starts
    with ``path``, and, for processes started before they carried a path, those whose ``OrganisationId``
    is one of ``organisation_ids`` (None: the subtree has more than ``MAX_ORGANISATIONS``; its older
    processes without a path are then not listed, only the ones with a path)."""

    path: str
    organisation_ids: tuple[str, ...] | None


def visible_subtree(session: Session, principal: Principal) -> Subtree:
    """The caller's subtree: its path and, when there are at most ``MAX_ORGANISATIONS``, its ids."""
    stmt = (
        select(Organisation.id)
        .where(Organisation.path.startswith(principal.organisation_path, autoescape=True))
        .order_by(Organisation.id)
        .limit(MAX_ORGANISATIONS + 1)
    )
    ids = tuple(session.execute(stmt).scalars())
    return Subtree(principal.organisation_path, ids if len(ids) <= MAX_ORGANISATIONS else None)


def quoted(value: str) -> str:
    """A string literal of a visibility query (its backslashes and quotes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def list_query(subtree: Subtree, filters: ProcessFilters) -> str:
    """The visibility query of a list: the subtree (by path, or by id for processes without one), then
    each filter."""
    scope = f"{ORGANISATION_PATH.name} STARTS_WITH {quoted(subtree.path)}"
    if subtree.organisation_ids:
        names = ", ".join(quoted(org) for org in subtree.organisation_ids)
        scope = f"({scope} OR {ORGANISATION_ID.name} IN ({names}))"
    return " AND ".join([scope, *filters.clauses()])


def encode_page_token(token: bytes) -> str:
    """Temporal's next page token, wrapped as one of this API's opaque cursors."""
    return base64.urlsafe_b64encode(_CURSOR_MARK + token).decode().rstrip("=")


def decode_page_token(cursor: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if not raw.startswith(_CURSOR_MARK) or len(raw) == len(_CURSOR_MARK):
        raise ApiError(422, "invalid_cursor", "cursor is not one this API returned", field="cursor")
    return raw[len(_CURSOR_MARK) :]


async def list_processes(
    client: Client, subtree: Subtree, filters: ProcessFilters, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the subtree's processes (Temporal's order: newest first) and the next cursor."""
    token = decode_page_token(cursor) if cursor else None
    pages = client.list_workflows(list_query(subtree, filters), page_size=limit, next_page_token=token)
    try:
        await pages.fetch_next_page(page_size=limit)
    except RPCError as exc:
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:
            if token is not None:
                raise ApiError(
                    422, "invalid_cursor", "cursor is not one of this list (same filters)", field="cursor"
                ) from exc
            raise ApiError(422, "invalid_filter", f"Temporal refused the filters: {exc.message}") from exc
        raise unavailable(exc) from exc
    rows = [_summary(execution) for execution in pages.current_page or []]
    next_token = pages.next_page_token
    return rows, encode_page_token(next_token) if next_token and rows else None


def _summary(execution: WorkflowExecution) -> dict[str, Any]:
    attributes = _attributes(execution.typed_search_attributes)
    status = _STATUS.get(int(execution.status), "unknown") if execution.status else "unknown"
    return {
        "id": execution.id,
        "object": "process",
        "process": attributes.get(PROCESS_ATTRIBUTE.name) or execution.workflow_type,
        "workflow_type": execution.workflow_type,
        "status": status,
        "organisation_id": attributes.get(ORGANISATION_ID.name),
        "account_id": attributes.get(ACCOUNT_ID.name),
        "subscription_id": attributes.get(SUBSCRIPTION_ID.name),
        "invoice_id": attributes.get(INVOICE_ID.name),
        "parent_id": execution.parent_id,
        "started_at": _iso(execution.start_time),
        "closed_at": _iso(execution.close_time),
    }
