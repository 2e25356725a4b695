"""The one way the API starts or signals a process.

Every route that starts a workflow describes it as a :class:`ProcessStart`: the workflow by reference
with its typed input, the id from ``domain/process_ids.py`` and the labels staff find it by (search
attributes, readable summary, memo; the same a parent workflow gives its children, see
workflows/common.py). Starting is once per id: a replayed request (same Idempotency-Key) finds its
process started and answers as the first time; a new request whose process id is taken answers 409
``process_already_started``; Temporal unreachable answers 503 ``temporal_unavailable``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from domain.process_ids import ProcessLabels
from runtime import logs
from runtime.organisation_paths import organisation_path
from runtime.settings import Settings
from workflows.common import search_attributes


@dataclass(frozen=True)
class ProcessStart:
    """A process to start: ``workflow`` is the run method (``OnboardingWorkflow.run``), ``arg`` its input."""

    workflow: Callable[[Any, Any], Awaitable[Any]]
    arg: Any
    process_id: str
    labels: ProcessLabels


async def start_process(
    client: Client, settings: Settings, start: ProcessStart, *, replayed: bool = False
) -> None:
    """Start a process once, findable by its search attributes and summary.

    ``replayed``: the request repeats one that may have started it (its process existing is expected).
    A process of an organisation carries its ``OrganisationPath`` too (runtime/organisation_paths.py).
    """
    logs.bind(workflow_id=start.process_id)  # the request's log lines name the process it started
    path = await organisation_path(settings, start.labels.organisation_id)
    try:
        await client.start_workflow(
            start.workflow,
            start.arg,
            id=start.process_id,
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo=start.labels.memo(),
            search_attributes=search_attributes(start.labels, path),
            static_summary=start.labels.summary,
        )
    except WorkflowAlreadyStartedError as exc:
        if replayed:
            return
        raise ApiError(
            409,
            "process_already_started",
            f"The {start.labels.process} process {start.process_id} was already started",
            process_id=start.process_id,
        ) from exc
    except RPCError as exc:
        raise ApiError(
            503,
            "temporal_unavailable",
            f"The {start.labels.process} process could not be started ({exc.message}); retry the same "
            "request with the same Idempotency-Key",
        ) from exc


async def signal_process(
    client: Client,
    process_id: str,
    signal: str | Callable[..., Any],
    *,
    not_found: ApiError | None = None,
    unavailable: str = "Could not reach Temporal; retry shortly",
) -> None:
    """Send ``signal`` (a handler by reference, or its name) to a process.

    A process that does not exist answers ``not_found`` (default 404 ``process_not_found``); Temporal
    failing answers 503 ``temporal_unavailable`` with the ``unavailable`` message.
    """
    logs.bind(workflow_id=process_id)
    try:
        await client.get_workflow_handle(process_id).signal(signal)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            missing = ApiError(404, "process_not_found", f"No process {process_id} exists")
            raise (not_found or missing) from exc
        raise ApiError(503, "temporal_unavailable", unavailable) from exc


async def start_or_signal_process(
    client: Client, settings: Settings, start: ProcessStart, signal: str
) -> None:
    """Start the process with ``signal`` or, if it runs, just signal it (Temporal's signal-with-start).

    For processes that take work as it arrives (a push provider's charges): one runs at a time under
    the id, and a new one may start under it once the last has closed. 503 ``temporal_unavailable`` when
    Temporal does not answer.
    """
    logs.bind(workflow_id=start.process_id)
    path = await organisation_path(settings, start.labels.organisation_id)
    try:
        await client.start_workflow(
            start.workflow,
            start.arg,
            id=start.process_id,
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            start_signal=signal,
            memo=start.labels.memo(),
            search_attributes=search_attributes(start.labels, path),
            static_summary=start.labels.summary,
        )
    except RPCError as exc:
        raise ApiError(
            503,
            "temporal_unavailable",
            f"The {start.labels.process} process could not be started ({exc.message})",
        ) from exc
