"""/v1/organisations: the partner network tree and its API keys (operator admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from activities.accounts.organisations import create_organisation, mint_api_key
from activities.shared.visibility import find_visible_organisation
from api.deps import AdminDep, IdempotentWriteDep, SessionDep, StaffDep, api_key_cache
from api.errors import ApiError, not_found
from api.schemas.common import Page
from api.schemas.organisations import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    OrganisationCreate,
    OrganisationOut,
    OrganisationUpdate,
)
from domain.organisations import OPERATOR_SETTINGS, OrganisationKind
from models.base import utcnow
from models.organisations import ApiKey, Organisation

router = APIRouter(prefix="/v1/organisations", tags=["organisations"])


def org_out(org: Organisation) -> dict[str, Any]:
    return OrganisationOut.model_validate(org, from_attributes=True).model_dump(mode="json")


def key_out(key: ApiKey) -> dict[str, Any]:
    return ApiKeyOut.model_validate(key, from_attributes=True).model_dump(mode="json")


@router.post("", status_code=201, response_model=OrganisationOut, summary="Add a partner, reseller or outlet")
def add_organisation(body: OrganisationCreate, principal: AdminDep, write: IdempotentWriteDep) -> Response:
    def produce(session: Session) -> dict[str, Any]:
        parent_id = body.parent_id or principal.organisation_id
        parent = find_visible_organisation(session, principal, parent_id)
        if parent is None:
            raise not_found("organisation", parent_id)
        org = create_organisation(
            session,
            name=body.name,
            kind=OrganisationKind(body.kind),
            parent=parent,
            country=body.country,
            contact_email=body.contact_email,
        )
        return org_out(org)

    return write(body, produce)


@router.get("", response_model=Page[OrganisationOut], summary="Your organisation and everything under it")
def list_organisations(principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    rows = session.execute(
        select(Organisation)
        .where(Organisation.path.startswith(principal.organisation_path, autoescape=True))
        .order_by(Organisation.path)
        .limit(1000)
    ).scalars()
    return {"data": [org_out(o) for o in rows], "next_cursor": None, "has_more": False}


@router.get("/{organisation_id}", response_model=OrganisationOut, summary="Get an organisation")
def get_organisation(organisation_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    org = find_visible_organisation(session, principal, organisation_id)
    if org is None:
        raise not_found("organisation", organisation_id)
    return org_out(org)


@router.patch("/{organisation_id}", response_model=OrganisationOut, summary="Edit an organisation")
def update_organisation(
    organisation_id: str, body: OrganisationUpdate, principal: AdminDep, session: SessionDep
) -> dict[str, Any]:
    changes = body.model_dump(mode="json", exclude_unset=True)
    if not changes or any(v is None for v in changes.values()):
        raise ApiError(422, "empty_update", "Name at least one field to change, none of them null")
    org = find_visible_organisation(session, principal, organisation_id)
    if org is None:
        raise not_found("organisation", organisation_id)
    settings_named = sorted(OPERATOR_SETTINGS & changes.keys())
    if settings_named and (org.kind != OrganisationKind.OPERATOR.value or not principal.is_operator):
        raise ApiError(422, "operator_setting", f"Only an operator sets {', '.join(settings_named)}")
    for name, value in changes.items():
        setattr(org, name, value)
    session.flush()
    return org_out(org)


@router.post(
    "/{organisation_id}/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Mint an API key (its secret is shown once)",
)
def add_api_key(
    organisation_id: str, body: ApiKeyCreate, principal: AdminDep, write: IdempotentWriteDep
) -> JSONResponse:
    token: str | None = None

    def produce(session: Session) -> dict[str, Any]:
        nonlocal token
        org = find_visible_organisation(session, principal, organisation_id)
        if org is None:
            raise not_found("organisation", organisation_id)
        api_key, token = mint_api_key(session, organisation=org, role=body.role, name=body.name)
        return {**key_out(api_key), "token": None}  # the secret is never stored, not even here

    stored = write.store(body, produce)
    return JSONResponse({**stored.body, "token": token}, status_code=stored.status, headers=stored.headers)


@router.get(
    "/{organisation_id}/api-keys",
    response_model=Page[ApiKeyOut],
    summary="API keys of an organisation (never their secrets)",
)
def list_api_keys(organisation_id: str, principal: AdminDep, session: SessionDep) -> dict[str, Any]:
    org = find_visible_organisation(session, principal, organisation_id)
    if org is None:
        raise not_found("organisation", organisation_id)
    keys = session.execute(
        select(ApiKey).where(ApiKey.organisation_id == org.id).order_by(ApiKey.id)
    ).scalars()
    return {"data": [key_out(k) for k in keys], "next_cursor": None, "has_more": False}


@router.delete("/{organisation_id}/api-keys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key")
def revoke_api_key(
    organisation_id: str, key_id: str, principal: AdminDep, session: SessionDep, request: Request
) -> dict[str, Any]:
    org = find_visible_organisation(session, principal, organisation_id)
    api_key = session.get(ApiKey, key_id) if org is not None else None
    if org is None or api_key is None or api_key.organisation_id != org.id:
        raise not_found("api_key", key_id)
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
    # This process stops trusting the key now, and again once the revocation is committed (a request
    # that looked the key up in between may have cached it).
    cache = api_key_cache(request)
    cache.forget(key_id)
    event.listen(session, "after_commit", lambda _: cache.forget(key_id), once=True)
    return key_out(api_key)
