"""POST /v1/webhooks/{gateway}: the incoming webhooks of a gateway that signs its own (a plug-in's).

No API key: the gateway's own signature is the credential, checked by the gateway (``parse_webhook``).
Stripe keeps its own route, ``/v1/webhooks/stripe``, registered before this one.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool

from activities.payments.gateway_webhooks import receive_webhook
from api.deps import SettingsDep
from api.dunning_signals import signal_paid
from api.payment_gateways import gateways_for
from api.schemas.payments import GatewayEventOut

router = APIRouter(tags=["payments"])


@router.post(
    "/v1/webhooks/{gateway}",
    response_model=GatewayEventOut,
    summary="A payment gateway's events (signed by the gateway; no API key)",
    description="400 `invalid_signature` when the gateway's signature does not match the body; 404 "
    "`webhook_gateway_not_found` for a gateway that is not installed or sends no webhooks.",
)
async def gateway_webhook(
    gateway: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")],
    request: Request,
    settings: SettingsDep,
) -> dict[str, Any]:
    body = await request.body()
    headers = dict(request.headers)
    url = settings.database_url or ""
    event, applied = await run_in_threadpool(
        receive_webhook, url, gateways_for(request), gateway, headers, body
    )
    await signal_paid(request.app.state.temporal, url, applied.paid_invoice_ids)
    return {"received": True, "event_id": event.event_id, "outcome": applied.outcome}
