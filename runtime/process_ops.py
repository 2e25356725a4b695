"""What `multibill processes` does, against Temporal directly: find, show, replay and repair processes.

The CLI (runtime/process_cli.py) only parses options and prints; every function here takes a connected
``Client`` (or, for stored histories, none) and returns plain pydantic models, so the same answers are
printed as tables or as JSON. An operator mistake or a refusal raises :class:`ProcessOpsError` with the
exit code and a message that names the thing and the fix.
"""

from __future__ import annotations

import asyncio
import getpass
import importlib
import json
import re
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.api.common.v1 import WorkflowExecution as ExecutionRef
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, ResetWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHistory,
)
from temporalio.common import RawValue, RetryPolicy, WorkflowIDReusePolicy
from temporalio.converter import DataConverter, decode_typed_search_attributes
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.runtime import Runtime, TelemetryConfig
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from runtime.codec import data_converter, open_failures
from runtime.history_markers import local_activity
from runtime.sandbox import workflow_runner
from runtime.settings import Settings
from workflows.common import (
    ACCOUNT_ID,
    INVOICE_ID,
    ORGANISATION_ID,
    ORGANISATION_PATH,
    PROCESS,
    SUBSCRIPTION_ID,
)

DEFAULT_HISTORIES = Path("tests/workflows/histories")
DEFAULT_WORKFLOWS = "runtime.worker:WORKFLOWS"

# Exit codes: 1 the operation failed or was refused (a replay that found non-determinism), 2 the
# command cannot run at all (Temporal unreachable, a bad option).
FAILED = 1
CANNOT_RUN = 2
CONNECT_SECONDS = 15

STATUSES = {status.name.lower().replace("_", ""): status for status in WorkflowExecutionStatus}
STATUS_NAMES = {
    WorkflowExecutionStatus.RUNNING: "Running",
    WorkflowExecutionStatus.COMPLETED: "Completed",
    WorkflowExecutionStatus.FAILED: "Failed",
    WorkflowExecutionStatus.CANCELED: "Canceled",
    WorkflowExecutionStatus.TERMINATED: "Terminated",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "ContinuedAsNew",
    WorkflowExecutionStatus.TIMED_OUT: "TimedOut",
}
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:@\-]+$")
_SAFE_PATH = re.compile(r"^(/[A-Za-z0-9_]+)+/$")
_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class ProcessOpsError(Exception):
    """A refusal or failure the operator can act on; ``code`` is the command's exit code."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# --- connecting -----------------------------------------------------------------------------------


def unreachable(address: str, namespace: str, err: BaseException) -> ProcessOpsError:
    return ProcessOpsError(
        f"cannot reach Temporal at {address} (namespace {namespace}): {err}. "
        "Check that the server is up and TEMPORAL_ADDRESS (or --address) points at its gRPC port, "
        "e.g. export TEMPORAL_ADDRESS=127.0.0.1:7233 for the one `multibill up` starts.",
        CANNOT_RUN,
    )


async def open_client(settings: Settings) -> Client:
    """A client of the Temporal server of ``settings``; unreachable or unset is a clear error (exit 2)."""
    from runtime.temporal import connect

    if not settings.temporal_address:
        raise ProcessOpsError(
            "TEMPORAL_ADDRESS is not set: export TEMPORAL_ADDRESS=host:7233 (127.0.0.1:7233 for the server "
            "`multibill up` starts) or pass --address.",
            CANNOT_RUN,
        )
    address, namespace = settings.temporal_address, settings.temporal_namespace
    try:
        client = await asyncio.wait_for(connect(settings), timeout=CONNECT_SECONDS)
        # One cheap call proves the server answers and knows the namespace.
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace), timeout=timedelta(seconds=10)
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ProcessOpsError(
                f"Temporal at {address} has no namespace {namespace!r}: set MULTIBILL_TEMPORAL_NAMESPACE "
                "(or --namespace) to the worker's namespace.",
                CANNOT_RUN,
            ) from err
        raise unreachable(address, namespace, err) from err
    except (RuntimeError, TimeoutError) as err:  # the SDK's "Failed client connect", or no answer
        raise unreachable(address, namespace, err) from err
    return client


def rpc_failure(client: Client, workflow_id: str, err: RPCError) -> ProcessOpsError:
    """An RPC error as the operator's error: not found, or the server did not answer."""
    if err.status == RPCStatusCode.NOT_FOUND:
        return ProcessOpsError(
            f"no process {workflow_id!r} in namespace {client.namespace}: "
            "find its id with `multibill processes list` (filters --account, --subscription, --invoice)."
        )
    if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        target = client.service_client.config.target_host
        return unreachable(target, client.namespace, err)
    return ProcessOpsError(f"Temporal refused the request for {workflow_id!r}: {err.message}")


def closed_meanwhile(client: Client, workflow_id: str, err: RPCError) -> ProcessOpsError:
    """An action on a process found running a moment ago: NOT_FOUND now means it closed meanwhile."""
    if err.status == RPCStatusCode.NOT_FOUND:
        return ProcessOpsError(
            f"{workflow_id} closed while the request was on its way ({err.message}): "
            f"`multibill processes show {workflow_id}` tells how it ended."
        )
    return rpc_failure(client, workflow_id, err)


# --- list -----------------------------------------------------------------------------------------


class Filters(BaseModel):
    type: str | None = None
    status: str | None = None
    organisation: str | None = None
    account: str | None = None
    subscription: str | None = None
    invoice: str | None = None
    since: str | None = None


class ProcessRow(BaseModel):
    id: str
    run_id: str
    type: str
    process: str | None
    status: str
    started_at: datetime
    closed_at: datetime | None
    organisation_id: str | None
    account_id: str | None
    subscription_id: str | None
    invoice_id: str | None
    parent_id: str | None


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``2026-11-30``, ``2026-11-30T08:00:00Z`` (UTC without an offset), or ``90m``, ``6h``, ``2d``, ``1w``
    ago."""
    text = value.strip()
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as err:
        raise ProcessOpsError(
            f"--since {value!r} is not a date: give 2026-11-30, 2026-11-30T08:00:00Z, or 90m, 6h, 2d, 1w",
            CANNOT_RUN,
        ) from err
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _literal(option: str, value: str) -> str:
    if not _SAFE_VALUE.match(value):
        raise ProcessOpsError(
            f"{option} {value!r}: ids and names are letters, digits and _ . : @ - only", CANNOT_RUN
        )
    return f"'{value}'"


def status_of(value: str) -> WorkflowExecutionStatus:
    found = STATUSES.get(value.lower().replace("_", "").replace("-", ""))
    if found is None:
        raise ProcessOpsError(
            f"--status {value!r} is not a status: one of {', '.join(STATUS_NAMES.values())}", CANNOT_RUN
        )
    return found


def visibility_query(filters: Filters) -> str:
    """The Temporal visibility query of the filters, on the search attributes of workflows/common.py."""
    clauses: list[str] = []
    if filters.type:
        name = _literal("--type", filters.type)
        clauses.append(f"(WorkflowType = {name} OR {PROCESS.name} = {name})")
    if filters.status:
        clauses.append(f"ExecutionStatus = '{STATUS_NAMES[status_of(filters.status)]}'")
    organisation = filters.organisation
    if organisation and organisation.startswith("/"):  # a tree path: the organisation's whole subtree
        if not _SAFE_PATH.match(organisation):
            raise ProcessOpsError(
                f"--organisation {organisation!r}: a path is /org_…/ or /org_…/org_…/ (ending with /)",
                CANNOT_RUN,
            )
        clauses.append(f"{ORGANISATION_PATH.name} STARTS_WITH '{organisation}'")
        organisation = None
    for option, key, value in (
        ("--organisation", ORGANISATION_ID, organisation),
        ("--account", ACCOUNT_ID, filters.account),
        ("--subscription", SUBSCRIPTION_ID, filters.subscription),
        ("--invoice", INVOICE_ID, filters.invoice),
    ):
        if value:
            clauses.append(f"{key.name} = {_literal(option, value)}")
    if filters.since:
        since = parse_since(filters.since).astimezone(UTC)
        clauses.append(f"StartTime >= '{since.strftime('%Y-%m-%dT%H:%M:%SZ')}'")
    return " AND ".join(clauses)


def row_of(execution: WorkflowExecution) -> ProcessRow:
    attributes = execution.typed_search_attributes
    return ProcessRow(
        id=execution.id,
        run_id=execution.run_id,
        type=execution.workflow_type,
        process=attributes.get(PROCESS),
        status=STATUS_NAMES.get(execution.status, "Unknown") if execution.status else "Unknown",
        started_at=execution.start_time,
        closed_at=execution.close_time,
        organisation_id=attributes.get(ORGANISATION_ID),
        account_id=attributes.get(ACCOUNT_ID),
        subscription_id=attributes.get(SUBSCRIPTION_ID),
        invoice_id=attributes.get(INVOICE_ID),
        parent_id=execution.parent_id,
    )


async def list_processes(client: Client, filters: Filters, limit: int) -> list[ProcessRow]:
    """The processes matching ``filters``, newest first, at most ``limit``."""
    query = visibility_query(filters)
    rows: list[ProcessRow] = []
    try:
        async for execution in client.list_workflows(query or None, limit=limit):
            rows.append(row_of(execution))
    except RPCError as err:
        if err.status == RPCStatusCode.INVALID_ARGUMENT:
            raise ProcessOpsError(
                f"Temporal refused the query {query!r}: {err.message}. The search attributes are "
                "registered by the worker at start (`multibill worker`).",
                CANNOT_RUN,
            ) from err
        raise rpc_failure(client, "(list)", err) from err
    return rows


# --- show -----------------------------------------------------------------------------------------


class Step(BaseModel):
    """One step of a process as its history tells it: an activity, a timer, a child, a signal."""

    event_id: int
    at: datetime
    kind: str
    name: str
    outcome: str
    attempt: int | None = None
    detail: str | None = None
    finished_at: datetime | None = None


class PendingActivity(BaseModel):
    activity_id: str
    name: str
    state: str
    attempt: int
    maximum_attempts: int | None
    last_failure: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None


class PendingChild(BaseModel):
    workflow_id: str
    type: str


class ProcessDetail(BaseModel):
    row: ProcessRow
    summary: str | None
    details: str | None
    task_queue: str
    history_length: int
    result_or_failure: str | None
    steps: list[Step]
    pending_activities: list[PendingActivity]
    pending_children: list[PendingChild]


def _when(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime().replace(tzinfo=UTC)


def _ts(message: Any, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    stamp: datetime = getattr(message, field).ToDatetime().replace(tzinfo=UTC)
    return stamp


def failure_text(failure: Any) -> str:
    """A failure's message and its causes' (``provisioning unavailable <- connection refused``)."""
    parts: list[str] = []
    current = failure
    while current is not None and len(parts) < 5:
        if current.message:
            parts.append(current.message)
        current = current.cause if current.HasField("cause") else None
    return " <- ".join(parts) or "(no message)"


def _payload_text(payloads: Sequence[Payload]) -> str:
    texts = []
    for payload in payloads:
        try:
            texts.append(payload.data.decode())
        except UnicodeDecodeError:
            texts.append(f"<{len(payload.data)} bytes>")
    return ", ".join(texts)


CHILD_OUTCOMES = {
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: "running",
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED: "completed",
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: "failed",
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED: "canceled",
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED: "terminated",
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT: "timed out",
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED: "not started (id in use)",
}


def steps_of(events: Sequence[HistoryEvent]) -> list[Step]:
    """The steps of a history, in order: each activity, timer and child once with its outcome."""
    steps: list[Step] = []
    by_scheduled: dict[int, Step] = {}
    attempts: dict[int, int] = {}

    def close(scheduled_id: int, event: HistoryEvent, outcome: str, detail: str | None = None) -> None:
        step = by_scheduled.get(scheduled_id)
        if step is not None:
            step.outcome, step.finished_at = outcome, _when(event)
            step.attempt = attempts.get(scheduled_id, step.attempt)
            if detail:
                step.detail = detail

    def add(event: HistoryEvent, kind: str, name: str, outcome: str, detail: str | None = None) -> Step:
        step = Step(event_id=event.event_id, at=_when(event), kind=kind, name=name, outcome=outcome)
        step.detail = detail
        steps.append(step)
        return step

    for event in events:
        attrs = event.WhichOneof("attributes")
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            add(event, "process", "started", "done")
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            a = event.activity_task_scheduled_event_attributes
            by_scheduled[event.event_id] = add(event, "activity", a.activity_type.name, "scheduled")
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            s = event.activity_task_started_event_attributes
            attempts[s.scheduled_event_id] = s.attempt
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            close(event.activity_task_completed_event_attributes.scheduled_event_id, event, "completed")
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            f = event.activity_task_failed_event_attributes
            close(f.scheduled_event_id, event, "failed", failure_text(f.failure))
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
            t = event.activity_task_timed_out_event_attributes
            close(t.scheduled_event_id, event, "timed out", failure_text(t.failure))
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
            close(event.activity_task_canceled_event_attributes.scheduled_event_id, event, "canceled")
        elif kind == EventType.EVENT_TYPE_MARKER_RECORDED:
            local = local_activity(event)
            if local is not None:
                outcome = "failed" if local.failure is not None else "completed"
                step = add(
                    event,
                    "activity",
                    local.name,
                    outcome,
                    failure_text(local.failure) if local.failure else None,
                )
                step.attempt, step.finished_at = local.attempt or step.attempt, _when(event)
        elif kind == EventType.EVENT_TYPE_TIMER_STARTED:
            t2 = event.timer_started_event_attributes
            seconds = t2.start_to_fire_timeout.ToTimedelta()
            by_scheduled[event.event_id] = add(event, "timer", f"wait {seconds}", "waiting")
        elif kind == EventType.EVENT_TYPE_TIMER_FIRED:
            close(event.timer_fired_event_attributes.started_event_id, event, "fired")
        elif kind == EventType.EVENT_TYPE_TIMER_CANCELED:
            close(event.timer_canceled_event_attributes.started_event_id, event, "canceled")
        elif kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            c = event.start_child_workflow_execution_initiated_event_attributes
            by_scheduled[event.event_id] = add(
                event, "child", f"{c.workflow_type.name} {c.workflow_id}", "starting"
            )
        elif kind in CHILD_OUTCOMES:
            child = getattr(event, attrs or "")
            failed = "failure" in child.DESCRIPTOR.fields_by_name and child.HasField("failure")
            detail = failure_text(child.failure) if failed else None
            close(child.initiated_event_id, event, CHILD_OUTCOMES[kind], detail)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            add(event, "signal", event.workflow_execution_signaled_event_attributes.signal_name, "received")
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            w = event.workflow_task_failed_event_attributes
            if w.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW:
                add(event, "process", "reset here", "done", w.failure.message or None)
            else:
                cause = _enum_name(w.cause, "WORKFLOW_TASK_FAILED_CAUSE_")
                add(event, "workflow task", cause, "failed", failure_text(w.failure))
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED:
            reason = event.workflow_execution_cancel_requested_event_attributes.cause
            add(event, "process", "cancel requested", "received", reason or None)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            result = event.workflow_execution_completed_event_attributes.result.payloads
            add(event, "process", "completed", "done", _payload_text(result) or None)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            failure = event.workflow_execution_failed_event_attributes.failure
            add(event, "process", "failed", "failed", failure_text(failure))
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            reason = event.workflow_execution_terminated_event_attributes.reason
            add(event, "process", "terminated", "terminated", reason or None)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
            add(event, "process", "canceled", "canceled")
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
            add(event, "process", "timed out", "timed out")
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            add(event, "process", "continued as new", "done")
    return steps


def _enum_name(value: int, prefix: str) -> str:
    return WorkflowTaskFailedCause.Name(value).removeprefix(prefix).lower().replace("_", " ")  # type: ignore[arg-type]


def _pending_activities(description: WorkflowExecutionDescription) -> list[PendingActivity]:
    found = []
    for pending in description.raw_description.pending_activities:
        found.append(
            PendingActivity(
                activity_id=pending.activity_id,
                name=pending.activity_type.name,
                state=_pending_state(pending.state),
                attempt=pending.attempt,
                maximum_attempts=pending.maximum_attempts or None,
                last_failure=failure_text(pending.last_failure) if pending.HasField("last_failure") else None,
                last_attempt_at=_ts(pending, "last_started_time"),
                next_attempt_at=_ts(pending, "next_attempt_schedule_time"),
            )
        )
    return found


def _pending_state(value: int) -> str:
    from temporalio.api.enums.v1 import PendingActivityState

    return PendingActivityState.Name(value).removeprefix("PENDING_ACTIVITY_STATE_").lower()  # type: ignore[arg-type]


async def _history(client: Client, workflow_id: str, run_id: str | None) -> WorkflowHistory:
    try:
        return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    except RPCError as err:
        raise rpc_failure(client, workflow_id, err) from err


async def _describe(client: Client, workflow_id: str, run_id: str | None) -> WorkflowExecutionDescription:
    try:
        return await client.get_workflow_handle(workflow_id, run_id=run_id).describe()
    except RPCError as err:
        raise rpc_failure(client, workflow_id, err) from err


async def show_process(client: Client, workflow_id: str, run_id: str | None = None) -> ProcessDetail:
    description = await _describe(client, workflow_id, run_id)
    history = await _history(client, workflow_id, description.run_id)
    await open_failures(client.data_converter, history.events, description)  # sealed by the codec
    steps = steps_of(history.events)
    pending = _pending_activities(description)
    retrying = {p.activity_id: p for p in pending}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            now = retrying.get(event.activity_task_scheduled_event_attributes.activity_id)
            step = next((s for s in steps if s.event_id == event.event_id), None)
            if now is not None and step is not None and step.outcome == "scheduled":
                step.outcome = "retrying" if now.attempt > 1 else now.state
                step.attempt = now.attempt
                step.detail = now.last_failure
    closing = steps[-1] if steps and steps[-1].kind == "process" and steps[-1].name != "started" else None
    return ProcessDetail(
        row=row_of(description),
        summary=await description.static_summary(),
        details=await description.static_details(),
        task_queue=description.task_queue,
        history_length=description.history_length or len(history.events),
        result_or_failure=closing.detail if closing else None,
        steps=steps,
        pending_activities=pending,
        pending_children=[
            PendingChild(workflow_id=child.workflow_id, type=child.workflow_type_name)
            for child in description.raw_description.pending_children
        ],
    )


# --- replay ---------------------------------------------------------------------------------------


class ReplayOutcome(BaseModel):
    workflow_id: str
    run_id: str | None
    type: str | None
    source: str
    error: str | None
    detail: str | None = None


_CORE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')


def replay_error(error: Exception) -> str:
    """The readable part of a replay failure: the core's message (``[TMPRL1100] Nondeterminism error:
    …``) rather than its whole debug dump."""
    text = str(error)
    found = _CORE_MESSAGE.search(text)
    return f"{type(error).__name__}: {found.group(1) if found else text}"


class ReplayReport(BaseModel):
    workflows_from: str
    replayed: int
    failed: list[ReplayOutcome]
    passed: list[ReplayOutcome]


def load_workflows(spec: str) -> list[type]:
    """The workflow classes named by ``module:attribute`` (a list), default the worker's list."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ProcessOpsError(
            f"--workflows {spec!r}: give module:attribute, e.g. {DEFAULT_WORKFLOWS}", CANNOT_RUN
        )
    if str(Path.cwd()) not in sys.path:  # as `python -m` would: a candidate module in the checkout
        sys.path.insert(0, str(Path.cwd()))
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as err:
        raise ProcessOpsError(f"--workflows {spec!r} cannot be loaded: {err}", CANNOT_RUN) from err
    classes = list(found)
    if not classes:
        raise ProcessOpsError(f"--workflows {spec!r} lists no workflow class", CANNOT_RUN)
    return classes


@dataclass
class _Loaded:
    history: WorkflowHistory | None
    source: str
    workflow_id: str
    error: str | None = None


def stored_histories(paths: Sequence[Path]) -> list[_Loaded]:
    """Every ``*.json`` history under ``paths`` (folders or files); a file that does not parse is kept
    as a failure of its own. The workflow id of a stored history is its file name (as in the tests)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.json")))
        elif path.is_file():
            files.append(path)
        else:
            raise ProcessOpsError(
                f"no history folder or file at {path}: give a folder of JSON histories (exported with "
                "`temporal workflow show -o json` or recorded by the tests), or --live",
                CANNOT_RUN,
            )
    loaded = []
    for file in files:
        try:
            loaded.append(
                _Loaded(WorkflowHistory.from_json(file.stem, file.read_text()), str(file), file.stem)
            )
        except (ValueError, KeyError, json.JSONDecodeError) as err:
            loaded.append(_Loaded(None, str(file), file.stem, f"not a workflow history: {err}"))
    return loaded


def _type_of(history: WorkflowHistory | None) -> str | None:
    if history is None or not history.events:
        return None
    first = history.events[0]
    if not first.HasField("workflow_execution_started_event_attributes"):
        return None
    name: str = first.workflow_execution_started_event_attributes.workflow_type.name
    return name


def _run_id(history: WorkflowHistory | None) -> str | None:
    try:
        return history.run_id if history is not None else None
    except RuntimeError:
        return None


async def replay(
    loaded: Sequence[_Loaded], workflows: list[type], data_converter: DataConverter, spec: str
) -> ReplayReport:
    """Replay ``loaded`` with ``workflows``: each history's non-determinism (or other task failure)."""
    failed: list[ReplayOutcome] = []
    passed: list[ReplayOutcome] = []
    playable = [item for item in loaded if item.history is not None]
    for item in loaded:
        if item.history is None:
            failed.append(
                ReplayOutcome(
                    workflow_id=item.workflow_id, run_id=None, type=None, source=item.source, error=item.error
                )
            )
    by_position = iter(playable)

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for item in playable:
            assert item.history is not None
            yield item.history

    if playable:
        replayer = Replayer(
            workflows=workflows,
            data_converter=data_converter,
            runtime=_quiet_runtime(),
            workflow_runner=workflow_runner(),
        )
        async with replayer.workflow_replay_iterator(histories()) as results:
            async for result in results:
                item = next(by_position)
                outcome = ReplayOutcome(
                    workflow_id=item.workflow_id,
                    run_id=_run_id(item.history),
                    type=_type_of(item.history),
                    source=item.source,
                    error=replay_error(result.replay_failure) if result.replay_failure else None,
                    detail=str(result.replay_failure) if result.replay_failure else None,
                )
                (failed if outcome.error else passed).append(outcome)
    return ReplayReport(workflows_from=spec, replayed=len(loaded), failed=failed, passed=passed)


def _quiet_runtime() -> Runtime:
    """A Temporal runtime that does not log: the core's warnings about each failing replay would go to
    stdout (and spoil --json); the report says the same once per history."""
    return Runtime(telemetry=TelemetryConfig(logging=None))


async def live_histories(client: Client, filters: Filters, limit: int) -> list[_Loaded]:
    """The histories of the processes matching ``filters`` (at most ``limit``), fetched from the server."""
    rows = await list_processes(client, filters, limit)
    loaded = []
    for row in rows:
        history = await _history(client, row.id, row.run_id)
        loaded.append(_Loaded(history, f"live {row.id} ({row.run_id})", row.id))
    return loaded


# --- reset ----------------------------------------------------------------------------------------

WORKFLOW_TASK_ENDS = (
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
)
FAILURES = (
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
)
CLOSING = (
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
)


class ResetResult(BaseModel):
    workflow_id: str
    old_run_id: str
    new_run_id: str
    event_id: int
    why: str
    reason: str


def failure_point(events: Sequence[HistoryEvent], pending_scheduled: set[int]) -> tuple[int, str]:
    """The event a reset must go back before, and why: the last failure before a failed close, a
    workflow task failing now, or the pending activity a stuck process keeps retrying."""
    last = events[-1]
    if last.event_type in CLOSING:
        failures = [e for e in events if e.event_type in FAILURES]
        if failures:
            event = failures[-1]
            return event.event_id, f"{_event_name(event)} (event {event.event_id}) before it {_closing(last)}"
        return last.event_id, f"it {_closing(last)} (event {last.event_id})"
    completed = [e.event_id for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
    since = completed[-1] if completed else 0
    task_failures = [e for e in events if e.event_id > since and e.event_type in FAILURES[-2:]]
    if task_failures:
        event = task_failures[0]
        return event.event_id, f"its workflow task fails ({_event_name(event)}, event {event.event_id})"
    if pending_scheduled:
        first = min(pending_scheduled)
        return first, f"activity scheduled at event {first} is still retrying"
    raise ProcessOpsError(
        "this process is running and nothing in it is failing: nothing to reset to. Look at "
        "`multibill processes show ID`, or pass --event-id N to reset to a workflow task of your choice."
    )


def _event_name(event: HistoryEvent) -> str:
    return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower().replace("_", " ")


def _closing(event: HistoryEvent) -> str:
    return _event_name(event).removeprefix("workflow execution ")


def pending_scheduled_events(
    events: Sequence[HistoryEvent], description: WorkflowExecutionDescription
) -> set[int]:
    """The ActivityTaskScheduled event ids of the activities the server reports as pending."""
    pending = {p.activity_id for p in description.raw_description.pending_activities}
    return {
        e.event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_id in pending
    }


def reset_point(events: Sequence[HistoryEvent], before: int) -> int:
    """The last WorkflowTaskCompleted before event ``before``: the last good step."""
    good = [
        e.event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and e.event_id < before
    ]
    if not good:
        raise ProcessOpsError(
            f"no completed workflow task before event {before}: the process failed in its first step; "
            "start it again with `multibill processes retry ID` instead."
        )
    return good[-1]


def operator_reason(reason: str, command: str) -> str:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no user name in a container
        who = "unknown user"
    return f"{reason} ({who}, multibill processes {command})"


async def reset_process(
    client: Client, workflow_id: str, reason: str, event_id: int | None = None, run_id: str | None = None
) -> ResetResult:
    description = await _describe(client, workflow_id, run_id)
    if description.status == WorkflowExecutionStatus.COMPLETED and event_id is None:
        raise ProcessOpsError(
            f"{workflow_id} completed: there is no failure to reset from. Pass --event-id N to reset it to "
            "a workflow task on purpose."
        )
    history = await _history(client, workflow_id, description.run_id)
    events = history.events
    if event_id is not None:
        chosen = next((e for e in events if e.event_id == event_id), None)
        if chosen is None or chosen.event_type not in WORKFLOW_TASK_ENDS:
            candidates = [
                str(e.event_id)
                for e in events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
            ]
            raise ProcessOpsError(
                f"event {event_id} of {workflow_id} is not the end of a workflow task; reset to one of the "
                f"WorkflowTaskCompleted events: {', '.join(candidates[-10:])}",
                CANNOT_RUN,
            )
        target, why = event_id, f"event {event_id}, as asked"
    else:
        before, cause = failure_point(events, pending_scheduled_events(events, description))
        target = reset_point(events, before)
        why = f"last good step: workflow task completed at event {target}; {cause}"
    recorded = operator_reason(reason, "reset")
    try:
        response = await client.workflow_service.reset_workflow_execution(
            ResetWorkflowExecutionRequest(
                namespace=client.namespace,
                workflow_execution=ExecutionRef(workflow_id=workflow_id, run_id=description.run_id),
                reason=recorded,
                workflow_task_finish_event_id=target,
                request_id=str(uuid.uuid4()),
            )
        )
    except RPCError as err:
        raise closed_meanwhile(client, workflow_id, err) from err
    return ResetResult(
        workflow_id=workflow_id,
        old_run_id=description.run_id,
        new_run_id=response.run_id,
        event_id=target,
        why=why,
        reason=recorded,
    )


# --- retry ----------------------------------------------------------------------------------------


class RetryResult(BaseModel):
    workflow_id: str
    run_id: str
    type: str
    previous_run_id: str
    previous_status: str
    task_queue: str


async def retry_process(
    client: Client, workflow_id: str, new_id: str | None = None, run_id: str | None = None
) -> RetryResult:
    """Start a failed (canceled, terminated, timed out) process again with its original input, labels and
    timeouts, under its own id (a new run) unless ``new_id`` is given."""
    description = await _describe(client, workflow_id, run_id)
    status = description.status
    status_name = STATUS_NAMES.get(status, "Unknown") if status else "Unknown"
    if status == WorkflowExecutionStatus.RUNNING:
        raise ProcessOpsError(
            f"{workflow_id} is still running (run {description.run_id}): a second copy would do its work "
            f"twice. Look at it with `multibill processes show {workflow_id}`; stop it with "
            f"`multibill processes cancel {workflow_id}`, or repair it with `multibill processes reset "
            f"{workflow_id} --reason …`."
        )
    if status in (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.CONTINUED_AS_NEW):
        raise ProcessOpsError(
            f"{workflow_id} {status_name.lower()}: it did not fail, there is nothing to retry "
            f"(`multibill processes show {workflow_id}` tells what it did)."
        )
    history = await _history(client, workflow_id, description.run_id)
    started = history.events[0]
    attrs = started.workflow_execution_started_event_attributes
    converter = client.data_converter
    payloads: Sequence[Payload] = list(attrs.input.payloads)
    if converter.payload_codec is not None:  # RawValue is encoded again on the way out
        payloads = await converter.payload_codec.decode(payloads)
    summary = None
    if started.HasField("user_metadata") and started.user_metadata.HasField("summary"):
        summary = (await converter.decode([started.user_metadata.summary]))[0]
    target = new_id or workflow_id
    try:
        handle = await client.start_workflow(
            attrs.workflow_type.name,
            args=[RawValue(payload) for payload in payloads],
            id=target,
            task_queue=attrs.task_queue.name,
            execution_timeout=_duration(attrs, "workflow_execution_timeout"),
            run_timeout=_duration(attrs, "workflow_run_timeout"),
            task_timeout=_duration(attrs, "workflow_task_timeout"),
            retry_policy=RetryPolicy.from_proto(attrs.retry_policy)
            if attrs.HasField("retry_policy")
            else None,
            memo=dict(attrs.memo.fields) if attrs.HasField("memo") else None,
            search_attributes=decode_typed_search_attributes(attrs.search_attributes),
            static_summary=summary if isinstance(summary, str) else None,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    except WorkflowAlreadyStartedError as err:
        raise ProcessOpsError(
            f"{target} was started again already (another run is open or completed): "
            f"`multibill processes show {target}`; pass --new-id to start a copy under another id."
        ) from err
    except RPCError as err:
        raise rpc_failure(client, target, err) from err
    return RetryResult(
        workflow_id=target,
        run_id=handle.result_run_id or "",
        type=attrs.workflow_type.name,
        previous_run_id=description.run_id,
        previous_status=status_name,
        task_queue=attrs.task_queue.name,
    )


def _duration(message: Any, field: str) -> timedelta | None:
    if not message.HasField(field):
        return None
    value: timedelta = getattr(message, field).ToTimedelta()
    return value or None


# --- cancel ---------------------------------------------------------------------------------------


class CancelResult(BaseModel):
    workflow_id: str
    run_id: str
    action: str
    reason: str | None


async def cancel_process(
    client: Client, workflow_id: str, terminate: bool, reason: str | None, run_id: str | None = None
) -> CancelResult:
    """Ask a running process to cancel (it runs its own clean-up), or terminate it at once."""
    if terminate and not reason:
        raise ProcessOpsError(
            "--terminate stops the process without any clean-up: say why with --reason '…' (it is recorded)",
            CANNOT_RUN,
        )
    description = await _describe(client, workflow_id, run_id)
    if description.status != WorkflowExecutionStatus.RUNNING:
        status = STATUS_NAMES.get(description.status, "Unknown") if description.status else "Unknown"
        raise ProcessOpsError(f"{workflow_id} is not running (it is {status}): nothing to cancel.")
    handle = client.get_workflow_handle(workflow_id, run_id=description.run_id)
    try:
        if terminate:
            recorded = operator_reason(reason or "", "cancel --terminate")
            await handle.terminate(reason=recorded)
            return CancelResult(
                workflow_id=workflow_id, run_id=description.run_id, action="terminated", reason=recorded
            )
        await handle.cancel()
    except RPCError as err:
        raise closed_meanwhile(client, workflow_id, err) from err
    return CancelResult(
        workflow_id=workflow_id, run_id=description.run_id, action="cancel requested", reason=None
    )


def default_data_converter(settings: Settings) -> DataConverter:
    """The data converter stored histories are replayed with: the platform's, with the payload codec of
    ``settings`` (a sealed history opens with the keys; a plain one passes through)."""
    return data_converter(settings)
