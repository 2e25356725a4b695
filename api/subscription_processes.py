"""Starting subscription processes in Temporal with ids, memo and search attributes staff filter by."""

from __future__ import annotations

import hashlib
from typing import Any

from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from api.errors import ApiError
from runtime.settings import Settings
from runtime.temporal import ACCOUNT_ID, ORGANISATION_ID, PROCESS, SUBSCRIPTION_ID


def process_id_for(kind: str, subject: str, key: str) -> str:
    """A deterministic process id from the request's Idempotency-Key."""
    return f"{kind}-{subject}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


async def start_process(
    client: Client,
    settings: Settings,
    workflow: Any,
    arg: Any,
    *,
    process_id: str,
    process: str,
    organisation_id: str,
    account_id: str,
    subscription_id: str | None = None,
) -> None:
    """Start a process once (a retried request finds it started), findable by its search attributes."""
    memo = {"organisation_id": organisation_id, "account_id": account_id}
    attributes = [
        SearchAttributePair(ACCOUNT_ID, account_id),
        SearchAttributePair(ORGANISATION_ID, organisation_id),
        SearchAttributePair(PROCESS, process),
    ]
    if subscription_id is not None:
        memo["subscription_id"] = subscription_id
        attributes.append(SearchAttributePair(SUBSCRIPTION_ID, subscription_id))
    try:
        await client.start_workflow(
            workflow,
            arg,
            id=process_id,
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo=memo,
            search_attributes=TypedSearchAttributes(attributes),
        )
    except WorkflowAlreadyStartedError:
        return
    except RPCError as exc:
        raise ApiError(
            503,
            "temporal_unavailable",
            f"The {process} process could not be started ({exc.message}); retry the same request "
            "with the same Idempotency-Key",
        ) from exc
