"""Starting an Onboarding process from an idempotent write: shared by /v1/subscriptions (staff) and
/v1/me/subscriptions (a subscriber subscribing)."""

from __future__ import annotations

from typing import Any

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from activities.subscriptions.io import OnboardingInput
from activities.subscriptions.onboarding import SubscriptionOrder, prepare_onboarding
from api.deps import TemporalGateway
from api.idempotency import IdempotentWrite
from api.process_starter import ProcessStart, start_process
from domain import process_ids
from domain.ids import new_id
from domain.principal import Principal
from domain.process_ids import ProcessLabels
from runtime.settings import Settings
from workflows.onboarding import OnboardingWorkflow


async def start_onboarding(
    body: SubscriptionOrder,
    principal: Principal,
    write: IdempotentWrite,
    settings: Settings,
    gateway: TemporalGateway,
    payload: Any = None,
    check: Any = None,
) -> Response:
    """Plan the order in the write's transaction (``check(session)`` first, if given) and start its
    Onboarding process; a replay plans it again under the stored ids, so a start that failed last time
    happens now. ``payload`` is what the idempotency key remembers (default: the order)."""
    key = write.key
    orders: list[OnboardingInput] = []

    def produce(session: Session) -> dict[str, Any]:
        if check is not None:
            check(session)
        sub_id = new_id("sub")
        ids = {"subscription_id": sub_id, "process_id": process_ids.onboarding(sub_id)}
        orders.append(prepare_onboarding(session, principal, body, request_id=key, **ids))
        return {"object": "process_started", "process": "Onboarding", **ids, "account_id": body.account_id}

    def plan_again(session: Session, out: dict[str, Any]) -> None:
        ids = {"subscription_id": out["subscription_id"], "process_id": out["process_id"]}
        orders.append(prepare_onboarding(session, principal, body, request_id=key, **ids))

    stored = await run_in_threadpool(
        write.store, body if payload is None else payload, produce, status=202, on_replay=plan_again
    )
    out, order = stored.body, orders[0]
    plans = ", ".join(service.plan_code for service in order.services if service.role == "base")
    labels = ProcessLabels(
        process="Onboarding",
        summary=f"Onboarding of account {order.account_id} to {plans or 'add-ons'}",
        organisation_id=order.organisation_id,
        account_id=order.account_id,
        subscription_id=order.subscription_id,
    )
    start = ProcessStart(OnboardingWorkflow.run, order, out["process_id"], labels)
    await start_process(await gateway.client(), settings, start, replayed=stored.replayed)
    return stored.response()
