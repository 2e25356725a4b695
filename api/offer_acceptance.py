"""Accepting an offer for an account: the shared part of the staff route
(``POST /v1/accounts/{id}/offers/{offer_id}/accept``) and the subscriber's (``POST /v1/me/offers/…``).

The redemption is written once per idempotency key; a plan change or add-on starts the PlanChange process
(released again when it cannot start); a voucher's code is in the first answer only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from activities.offers.redemptions import AcceptRequest, accept, redemption_data
from activities.subscriptions import records as store
from activities.subscriptions.io import ChangePlan
from api.deps import TemporalGateway
from api.errors import ApiError
from api.idempotency import IdempotentWrite
from api.process_starter import ProcessStart, start_process
from api.subscription_changes import change_summary
from domain.process_ids import ProcessLabels
from models.accounts import Account
from models.base import unit_of_work
from runtime.settings import Settings
from workflows.subscription_change import PlanChangeWorkflow


async def accept_for(
    locked_account: Callable[[Session], Account],
    offer_id: str,
    body: AcceptRequest,
    actor: str,
    write: IdempotentWrite,
    settings: Settings,
    gateway: TemporalGateway,
) -> JSONResponse:
    """Accept ``offer_id`` for the account ``locked_account`` finds (and locks) in the write's session."""
    fresh: dict[str, Any] = {}

    def produce(session: Session) -> dict[str, Any]:
        account = locked_account(session)
        done = accept(session, account, offer_id, body, write.key, actor)
        fresh["voucher_code"] = done.voucher_code
        return {
            **redemption_data(done.redemption, done.offer),
            "voucher_code": None,  # stored for replays without the code: it exists once, in this answer
            "organisation_id": account.organisation_id,
            "change": done.change.model_dump(mode="json") if done.change else None,
        }

    stored = await run_in_threadpool(
        write.store, {**body.model_dump(mode="json"), "offer_id": offer_id}, produce
    )
    out = stored.body
    if out.get("change"):
        change = ChangePlan.model_validate(out["change"])
        labels = ProcessLabels(
            process="PlanChange",
            summary=f"{change_summary(change)} (offer {out['offer_code']})",
            organisation_id=out["organisation_id"],
            account_id=out["account_id"],
            subscription_id=change.subscription_id,
        )
        try:
            start = ProcessStart(PlanChangeWorkflow.run, change, change.process_id, labels)
            await start_process(await gateway.client(), settings, start, replayed=stored.replayed)
        except ApiError:
            if not stored.replayed:
                await run_in_threadpool(_release, settings.database_url or "", change)
            raise
    public = {k: v for k, v in out.items() if k not in ("change", "organisation_id")}
    if fresh:
        public["voucher_code"] = fresh["voucher_code"]
    return JSONResponse(public, status_code=stored.status, headers=stored.headers)


def _release(database_url: str, change: ChangePlan) -> None:
    """Let go of the subscription when the plan change could not start (the redemption stays: the
    same request again starts it)."""
    with unit_of_work(database_url) as session:
        store.release(session, change.subscription_id, change.process_id)
