"""/v1/partner-connections, /v1/partner-subscriptions and /v1/partner-settlements: an operator's accounts at
partner providers (Netflix…), the memberships its subscribers hold there, and the monthly statements
(operator admins only; a connection's secret is never shown). Memberships are read by any staff key that
sees the customer's account (an outlet hands its customers their sign-up link)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from activities.partners import connections, memberships, settlement
from activities.partners.connections import ConnectionEdit, ConnectionSpec
from api.deps import IdempotentWriteDep, OperatorAdminDep, SessionDep, SettingsDep, StaffDep
from api.docs import file_response
from api.errors import ApiError
from api.schemas.common import Page
from api.schemas.partners import (
    ConnectionCreate,
    ConnectionOut,
    ConnectionUpdate,
    MembershipOut,
    SettlementCreate,
    SettlementOut,
    connection_dict,
)
from domain import geo, partners
from runtime.partners import build_partner_registry
from runtime.settings import Settings

router = APIRouter(tags=["partners"])
PAGE_LIMIT = 100


def installed_providers(request: Request, settings: Settings) -> list[str]:
    """The partner providers this deployment has (built once per app)."""
    names = getattr(request.app.state, "partner_providers", None)
    if names is None:
        names = build_partner_registry(settings).names()
        request.app.state.partner_providers = names
    return list(names)


def _checked_zone(zone: str | None) -> None:
    if zone is not None and not geo.is_timezone(zone):
        raise ApiError(422, "invalid_time_zone", f"time_zone {zone!r} is not an IANA time zone")


def _membership(row: Any) -> dict[str, Any]:
    return MembershipOut.model_validate(memberships.membership_json(row)).model_dump(mode="json")


def _settlement(row: Any) -> dict[str, Any]:
    return SettlementOut.model_validate(settlement.settlement_json(row)).model_dump(mode="json")


@router.post(
    "/v1/partner-connections",
    status_code=201,
    response_model=ConnectionOut,
    summary="Connect to a partner provider (the secret is stored sealed, never shown)",
)
def create_connection(
    body: ConnectionCreate,
    request: Request,
    principal: OperatorAdminDep,
    write: IdempotentWriteDep,
    settings: SettingsDep,
) -> Response:
    known = installed_providers(request, settings)
    if body.provider not in known:
        raise ApiError(
            422,
            "partner_provider_unknown",
            f"no partner provider named {body.provider!r} is installed (installed: {', '.join(known)})",
        )
    _checked_zone(body.time_zone)
    spec = ConnectionSpec(
        provider=body.provider,
        base_url=body.base_url,
        partner_id=body.partner_id,
        secret=body.secret,
        enabled=body.enabled,
        revenue_share_percent=partners.check_share_percent(body.revenue_share_percent),
        options={"time_zone": body.time_zone},
    )

    def produce(session: Session) -> dict[str, Any]:
        return connection_dict(connections.create_connection(session, principal, spec, settings.data_key))

    return write(body, produce)


@router.get("/v1/partner-connections", response_model=Page[ConnectionOut], summary="Your partner connections")
def list_connections(principal: OperatorAdminDep, session: SessionDep) -> dict[str, Any]:
    rows = connections.list_connections(session, principal)
    return {"data": [connection_dict(r) for r in rows], "next_cursor": None, "has_more": False}


@router.get(
    "/v1/partner-connections/{connection_id}",
    response_model=ConnectionOut,
    summary="Get a partner connection",
)
def get_connection(connection_id: str, principal: OperatorAdminDep, session: SessionDep) -> dict[str, Any]:
    return connection_dict(connections.find_connection(session, principal, connection_id))


@router.patch(
    "/v1/partner-connections/{connection_id}",
    response_model=ConnectionOut,
    summary="Edit a partner connection (a new secret, the revenue share, enable or disable it)",
)
def update_connection(
    connection_id: str,
    body: ConnectionUpdate,
    principal: OperatorAdminDep,
    session: SessionDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if not changes or any(value is None for value in changes.values()):
        raise ApiError(422, "empty_update", "Name at least one field to change, none of them null")
    _checked_zone(body.time_zone)
    row = connections.find_connection(session, principal, connection_id, lock=True)
    options = None
    if body.time_zone is not None:
        options = {**(row.options or {}), "time_zone": body.time_zone}
    edit = ConnectionEdit(
        base_url=body.base_url,
        partner_id=body.partner_id,
        secret=body.secret,
        enabled=body.enabled,
        revenue_share_percent=body.revenue_share_percent,
        options=options,
    )
    connections.update_connection(row, edit, settings.data_key)
    session.flush()
    return connection_dict(row)


@router.get(
    "/v1/partner-subscriptions",
    response_model=Page[MembershipOut],
    summary="Memberships at partner providers (with the sign-up link while pending)",
    description="Operator staff see every membership; a partner's or outlet's staff those of its own "
    "customers (to hand the sign-up link over).",
)
def list_memberships(
    principal: StaffDep,
    session: SessionDep,
    account_id: str | None = Query(default=None, max_length=40),
    cursor: str | None = Query(default=None, max_length=40),
    limit: int = Query(default=50, ge=1, le=PAGE_LIMIT),
) -> dict[str, Any]:
    rows = memberships.list_memberships(
        session, principal, account_id=account_id, after=cursor, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "data": [_membership(r) for r in rows],
        "next_cursor": rows[-1].id if more else None,
        "has_more": more,
    }


@router.get(
    "/v1/partner-subscriptions/{partner_subscription_id}",
    response_model=MembershipOut,
    summary="Get a membership at a partner provider",
)
def get_membership(partner_subscription_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    return _membership(memberships.find_membership(session, principal, partner_subscription_id))


@router.post(
    "/v1/partner-settlements",
    status_code=201,
    response_model=SettlementOut,
    summary="Settle a month with a partner provider (made once: asking again answers the same statement)",
)
def create_settlement(
    body: SettlementCreate, principal: OperatorAdminDep, write: IdempotentWriteDep
) -> Response:
    month = partners.parse_month(body.month)

    def produce(session: Session) -> dict[str, Any]:
        made = settlement.settle_month(session, principal.organisation_id, body.provider, month)
        return _settlement(made.settlement)

    return write(body, produce)


@router.get(
    "/v1/partner-settlements/{settlement_id}.csv",
    response_class=Response,
    responses={200: file_response("text/csv", "The statement as CSV")},
    summary="A partner statement as CSV: one line per charge, then the totals (minor units)",
)
def settlement_csv(settlement_id: str, principal: OperatorAdminDep, session: SessionDep) -> Response:
    row = settlement.find_settlement(session, principal.organisation_id, settlement_id)
    return Response(
        settlement.settlement_csv(session, row),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{row.id}.csv"'},
    )


@router.get(
    "/v1/partner-settlements/{settlement_id}.pdf",
    response_class=Response,
    responses={200: file_response("application/pdf", "The statement as PDF")},
    summary="A partner statement as PDF",
)
def settlement_pdf(settlement_id: str, principal: OperatorAdminDep, session: SessionDep) -> Response:
    row = settlement.find_settlement(session, principal.organisation_id, settlement_id)
    return Response(
        settlement.settlement_pdf(session, row),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{row.id}.pdf"'},
    )


@router.get(
    "/v1/partner-settlements/{settlement_id}", response_model=SettlementOut, summary="Get a partner statement"
)
def get_settlement(settlement_id: str, principal: OperatorAdminDep, session: SessionDep) -> dict[str, Any]:
    return _settlement(settlement.find_settlement(session, principal.organisation_id, settlement_id))
