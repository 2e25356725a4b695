"""Start a short process (or join the one a retried request started) and answer with its result.

For routes whose callers get the outcome in the response (a collection attempt, a refund, a card top-up,
an operator's provisioning re-run): the route starts the process with a deterministic id derived from the
request's Idempotency-Key and waits for it. A refusal inside the process comes back as the same
``RuleViolation`` (so the same problem+json); a process still running after ``timeout`` answers 503, and
the same request with the same key later joins it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowFailureError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from activities.shared.failures import rule_violation_of
from api.deps import TemporalGateway
from api.errors import ApiError
from runtime.settings import Settings
from runtime.temporal import ACCOUNT_ID, INVOICE_ID, ORGANISATION_ID, PROCESS, SUBSCRIPTION_ID

ResultT = TypeVar("ResultT")
PROCESS_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class ProcessStart:
    """Which process to start and how staff find it: its id, its kind and its search attributes."""

    process_id: str
    process: str
    organisation_id: str
    account_id: str | None = None
    subscription_id: str | None = None
    invoice_id: str | None = None

    def memo(self) -> dict[str, str]:
        fields = {
            "organisation_id": self.organisation_id,
            "account_id": self.account_id,
            "subscription_id": self.subscription_id,
            "invoice_id": self.invoice_id,
        }
        return {name: value for name, value in fields.items() if value is not None}

    def search_attributes(self) -> TypedSearchAttributes:
        pairs: list[SearchAttributePair[str]] = [
            SearchAttributePair(ORGANISATION_ID, self.organisation_id),
            SearchAttributePair(PROCESS, self.process),
        ]
        for key, value in ((ACCOUNT_ID, self.account_id), (SUBSCRIPTION_ID, self.subscription_id)):
            if value is not None:
                pairs.append(SearchAttributePair(key, value))
        if self.invoice_id is not None:
            pairs.append(SearchAttributePair(INVOICE_ID, self.invoice_id))
        return TypedSearchAttributes(pairs)


def _unavailable(start: ProcessStart, exc: RPCError) -> ApiError:
    return ApiError(
        503,
        "temporal_unavailable",
        f"The {start.process} process could not be started ({exc.message}); retry the same request "
        "with the same Idempotency-Key",
    )


async def start_once(
    gateway: TemporalGateway, settings: Settings, workflow: Any, arg: Any, start: ProcessStart
) -> Client:
    """Start the process unless a request with the same key already did; the client it was started on."""
    client = await gateway.client()
    try:
        await client.start_workflow(
            workflow,
            arg,
            id=start.process_id,
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo=start.memo(),
            search_attributes=start.search_attributes(),
        )
    except WorkflowAlreadyStartedError:
        pass
    except RPCError as exc:
        raise _unavailable(start, exc) from exc
    return client


async def run_process(
    gateway: TemporalGateway,
    settings: Settings,
    workflow: Any,
    arg: Any,
    start: ProcessStart,
    result_type: type[ResultT],
    timeout: float = PROCESS_TIMEOUT_SECONDS,
) -> ResultT:
    """Start (or join) the process and wait for its result."""
    client = await start_once(gateway, settings, workflow, arg, start)
    handle = client.get_workflow_handle(start.process_id, result_type=result_type)
    try:
        return await asyncio.wait_for(handle.result(), timeout)
    except WorkflowFailureError as exc:
        rule = rule_violation_of(exc)
        if rule is not None:
            raise rule from exc
        raise ApiError(
            500, "process_failed", f"the {start.process} process {start.process_id} failed: {exc.cause}"
        ) from exc
    except TimeoutError as exc:
        raise ApiError(
            503,
            "process_pending",
            f"the {start.process} process {start.process_id} has not finished yet; retry the same request "
            "with the same Idempotency-Key to get its result",
        ) from exc
    except RPCError as exc:
        raise _unavailable(start, exc) from exc
