"""Starting a subscription's change process from an API write: shared by /v1/subscriptions (plan changes,
suspend/resume/terminate/regret) and /v1/tickets (a cancel request's termination)."""

from __future__ import annotations

from typing import Any

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from activities.subscriptions import records as store
from activities.subscriptions.io import ChangePlan
from api.deps import TemporalGateway
from api.errors import ApiError
from api.idempotency import IdempotentWrite
from api.process_starter import ProcessStart, start_process
from domain import process_ids
from domain.principal import Principal
from domain.process_ids import ProcessLabels
from models.base import unit_of_work
from runtime.settings import Settings
from workflows.subscription_change import PlanChangeWorkflow, SubscriptionActionWorkflow


async def start_change(
    kind: str,
    sub_id: str,
    payload: dict[str, Any],
    prepare: Any,
    principal: Principal,
    write: IdempotentWrite,
    settings: Settings,
    gateway: TemporalGateway,
) -> Response:
    """Start the process of a change of subscription ``sub_id`` (``kind``: ``change`` for a PlanChange, else
    the SubscriptionAction of that action) from an idempotent write: ``prepare`` plans it in the write's
    transaction, the subscription is taken by the process, and let go again if the process cannot start."""

    def produce(session: Session) -> dict[str, Any]:
        sub = store.visible(session, principal, sub_id, lock=True)
        process_id = process_ids.subscription_request(kind, sub.id, write.key)
        change: ChangePlan = prepare(session, sub, process_id, principal.key_id)
        store.acquire(session, sub.id, process_id)
        return {
            "object": "process_started",
            "process_id": process_id,
            "subscription_id": sub.id,
            "account_id": sub.account_id,
            "organisation_id": sub.organisation_id,
            "change": change.model_dump(mode="json"),
        }

    stored = await run_in_threadpool(write.store, payload, produce, status=202)
    out, replayed = stored.body, stored.replayed
    change = ChangePlan.model_validate(out["change"])
    workflow = PlanChangeWorkflow.run if kind == "change" else SubscriptionActionWorkflow.run
    process = "PlanChange" if kind == "change" else process_ids.action_process(change.action)
    labels = ProcessLabels(
        process=process,
        summary=change_summary(change),
        organisation_id=out["organisation_id"],
        account_id=out["account_id"],
        subscription_id=change.subscription_id,
    )
    try:
        start = ProcessStart(workflow, change, out["process_id"], labels)
        await start_process(await gateway.client(), settings, start, replayed=replayed)
    except ApiError:
        await run_in_threadpool(_release, settings, change)
        raise
    return stored.response()


def change_summary(change: ChangePlan) -> str:
    """A change in a line, e.g. "Change plan of sub_… to TV-PLUS on 2024-02-01"."""
    what = change.action.replace("_", " ").capitalize()
    target = f" to {change.plan_code}" if change.plan_code else ""
    return f"{what} of {change.subscription_id}{target} on {change.effective_on}"


def _release(settings: Settings, change: ChangePlan) -> None:
    """Let go of the subscription when its process could not start (the write has committed)."""
    with unit_of_work(settings.database_url or "") as session:
        store.release(session, change.subscription_id, change.process_id)
