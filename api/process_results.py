"""Start a short process (or join the one a retried request started) and answer with its result.

For routes whose callers get the outcome in the response (a collection attempt, a refund, a card top-up,
an operator's provisioning re-run): the route describes the process as a ``ProcessStart`` (the id from
``domain/process_ids.py``, derived from the request's Idempotency-Key) and waits for it. It starts
through the one starter (``api/process_starter.py``), so these processes carry the same search
attributes and summary as every other. A refusal inside the process comes back as the same
``RuleViolation`` (so the same problem+json); a process still running after
``settings.process_wait_seconds`` answers 503, and the same request with the same key later joins it.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError

from activities.shared.failures import rule_violation_of
from api.deps import TemporalGateway
from api.errors import ApiError
from api.process_starter import ProcessStart, start_process
from runtime.settings import Settings

ResultT = TypeVar("ResultT")


async def start_once(gateway: TemporalGateway, settings: Settings, start: ProcessStart) -> None:
    """Start the process unless a request with the same key already did."""
    await start_process(await gateway.client(), settings, start, replayed=True)


async def run_process(
    gateway: TemporalGateway,
    settings: Settings,
    start: ProcessStart,
    result_type: type[ResultT],
) -> ResultT:
    """Start (or join) the process and wait for its result (``settings.process_wait_seconds`` at most)."""
    client = await gateway.client()
    await start_process(client, settings, start, replayed=True)
    handle = client.get_workflow_handle(start.process_id, result_type=result_type)
    process = start.labels.process
    try:
        return await asyncio.wait_for(handle.result(), settings.process_wait_seconds)
    except WorkflowFailureError as exc:
        rule = rule_violation_of(exc)
        if rule is not None:
            raise rule from exc
        raise ApiError(
            500, "process_failed", f"the {process} process {start.process_id} failed: {exc.cause}"
        ) from exc
    except TimeoutError as exc:
        raise ApiError(
            503,
            "process_pending",
            f"the {process} process {start.process_id} has not finished yet; retry the same request "
            "with the same Idempotency-Key to get its result",
        ) from exc
    except RPCError as exc:
        raise ApiError(
            503, "temporal_unavailable", f"Temporal did not answer while {process} ran ({exc.message}); retry"
        ) from exc
