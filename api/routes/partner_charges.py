"""/v1/partner-charges: what partner providers asked the operator to bill and what was decided (operator
staff), running the acceptance now; and /v1/partners/{provider}/charges, where a push provider posts its
charges (no API key: the provider's signature under the connection's secret is the credential)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from activities.catalog.records import operator_of
from activities.partner_charges.io import AcceptanceInput
from activities.partner_charges.pushes import (
    PushRefused,
    UnknownPushProvider,
    push_provider_known,
    receive_push,
)
from activities.partner_charges.reads import charge_of, list_charges
from activities.partner_charges.recording import charge_data
from activities.partner_charges.sessions import (
    PartnerRegistry,
    connection_row,
    enabled_providers,
    partner_registry,
)
from api.deps import (
    IdempotentWriteDep,
    OperatorAdminDep,
    OperatorStaffDep,
    SessionDep,
    SettingsDep,
    TemporalGatewayDep,
)
from api.errors import ApiError
from api.process_starter import ProcessStart, start_or_signal_process, start_process
from api.schemas.common import Page
from api.schemas.partner_charges import (
    AcceptanceRunCreate,
    AcceptanceRunStarted,
    ChargeStatus,
    PartnerChargeOut,
    PushReceivedOut,
    SchedulesOut,
)
from domain import process_ids
from domain.process_ids import ProcessLabels
from models.partners import PartnerCharge
from runtime.schedules import ensure_partner_charges_schedule, ensure_partner_settlement_schedule
from workflows.partner_charges import PROCESS, SIGNAL, NetflixChargeAcceptanceWorkflow

router = APIRouter(tags=["partner charges"])
log = logging.getLogger(__name__)
ProviderName = Annotated[str, Path(max_length=32, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]


def registry_of(request: Request) -> PartnerRegistry:
    """The providers installed, built once per app (tests may set ``app.state.partner_registry``)."""
    state = request.app.state
    registry: PartnerRegistry | None = getattr(state, "partner_registry", None)
    if registry is None:
        registry = partner_registry(state.settings)
        state.partner_registry = registry
    return registry


def charge_out(row: PartnerCharge) -> dict[str, Any]:
    return PartnerChargeOut.model_validate(charge_data(row)).model_dump(mode="json")


def acceptance_start(organisation_id: str, provider: str, process_id: str, why: str) -> ProcessStart:
    labels = ProcessLabels(
        process=PROCESS,
        summary=f"Acceptance of {provider} charges ({why})",
        organisation_id=organisation_id,
        memo_extra={"provider": provider},
    )
    request = AcceptanceInput(organisation_id=organisation_id, provider=provider)
    return ProcessStart(NetflixChargeAcceptanceWorkflow.run, request, process_id, labels)


@router.get(
    "/v1/partner-charges",
    response_model=Page[PartnerChargeOut],
    summary="The charges partner providers asked you to bill, newest first",
)
def list_partner_charges(
    principal: OperatorStaffDep,
    session: SessionDep,
    provider: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[ChargeStatus | None, Query()] = None,
    account_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    rows, next_cursor = list_charges(
        session,
        operator_of(principal),
        provider=provider,
        status=status,
        account_id=account_id,
        cursor=cursor,
        limit=limit,
    )
    return {
        "data": [charge_out(r) for r in rows],
        "next_cursor": next_cursor,
        "has_more": next_cursor is not None,
    }


@router.get(
    "/v1/partner-charges/{charge_id}", response_model=PartnerChargeOut, summary="Get a partner charge"
)
def get_partner_charge(charge_id: str, principal: OperatorStaffDep, session: SessionDep) -> dict[str, Any]:
    return charge_out(charge_of(session, operator_of(principal), charge_id))


@router.post(
    "/v1/partner-charges/runs",
    status_code=202,
    response_model=AcceptanceRunStarted,
    summary="Accept or decline a provider's charges now (starts NetflixChargeAcceptance)",
    description="404 `partner_provider_not_found` for a provider that is not installed, 404 "
    "`partner_connection_not_found` when you have no enabled connection to it.",
)
async def run_acceptance(
    body: AcceptanceRunCreate,
    request: Request,
    principal: OperatorStaffDep,
    write: IdempotentWriteDep,
    settings: SettingsDep,
    temporal: TemporalGatewayDep,
) -> JSONResponse:
    operator = operator_of(principal)
    if body.provider not in registry_of(request).names():
        raise ApiError(404, "partner_provider_not_found", f"No partner provider {body.provider} is installed")
    process_id = process_ids.partner_charges_run(operator, body.provider, write.key)

    def produce(session: Session) -> dict[str, Any]:
        connection_row(session, operator, body.provider)
        started = AcceptanceRunStarted(
            process_id=process_id, organisation_id=operator, provider=body.provider
        )
        return started.model_dump(mode="json")

    stored = await run_in_threadpool(write.store, body, produce, status=202)
    start = acceptance_start(operator, body.provider, process_id, "run by staff")
    await start_process(await temporal.client(), settings, start, replayed=stored.replayed)
    return JSONResponse(stored.body, status_code=stored.status, headers=stored.headers)


@router.post(
    "/v1/partner-charges/schedules",
    response_model=SchedulesOut,
    summary="Create or update the hourly charge acceptance and the monthly settlement of each provider "
    "you are connected to",
)
async def ensure_schedules(
    request: Request,
    principal: OperatorAdminDep,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalGatewayDep,
) -> dict[str, Any]:
    """Idempotent: per enabled connection, a Temporal Schedule of its charge acceptance (every hour at
    :15 UTC), pull or push (a push provider's run picks up what a lost start left received), and one of
    its monthly settlement (the 2nd at 03:00 UTC, settling the month before in the connection's zone)."""
    operator = operator_of(principal)
    installed = set(registry_of(request).names())
    providers = [p for p in enabled_providers(session, operator) if p in installed]
    client = await temporal.client()
    ids = [await ensure_partner_charges_schedule(client, settings, operator, p) for p in providers]
    monthly = [await ensure_partner_settlement_schedule(client, settings, operator, p) for p in providers]
    return {
        "object": "partner_charge_schedules",
        "schedules": [{"id": sid, "provider": p} for sid, p in zip(ids, providers, strict=True)],
        "settlement_schedules": [
            {"id": sid, "provider": p} for sid, p in zip(monthly, providers, strict=True)
        ],
    }


@router.post(
    "/v1/partners/{provider}/charges",
    response_model=PushReceivedOut,
    summary="A push provider's charges (signed by the provider; no API key)",
    description="Give the provider this URL with `?connection=<your connection id>`. 401 `invalid_signature` "
    "when the signature does not verify under that connection's secret (nothing is stored); 404 "
    "`partner_provider_not_found` for a provider that is not installed or does not push; 422 `invalid_push` "
    "for a signed body that does not parse. Each charge is stored once however often it is sent, and "
    "the acceptance process decides it.",
)
async def receive_partner_charges(
    provider: ProviderName,
    request: Request,
    settings: SettingsDep,
    temporal: TemporalGatewayDep,
    connection: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    registry = registry_of(request)
    if not push_provider_known(registry, provider):
        raise ApiError(404, "partner_provider_not_found", f"No push partner provider {provider} is installed")
    body = await request.body()
    headers = dict(request.headers)
    try:
        pushed = await run_in_threadpool(
            receive_push, settings, registry, provider, connection, headers, body
        )
    except UnknownPushProvider:
        raise ApiError(404, "partner_provider_not_found", f"No push partner provider {provider}") from None
    except PushRefused as refused:
        status = 401 if refused.code == "invalid_signature" else 422
        raise ApiError(status, refused.code, str(refused)) from None
    process_id = process_ids.partner_charges_pushed(pushed.organisation_id, provider)
    start = acceptance_start(pushed.organisation_id, provider, process_id, "pushed charges")
    started: str | None = process_id
    try:
        await start_or_signal_process(await temporal.client(), settings, start, SIGNAL)
    except ApiError as exc:  # stored: the scheduled run decides them
        log.warning("pushed %s charges stored; the acceptance process did not start: %s", provider, exc)
        started = None
    return PushReceivedOut(
        charges=pushed.charges, new=pushed.new, repeats=pushed.repeats, process_id=started
    ).model_dump(mode="json")
