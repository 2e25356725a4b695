"""/v1/branding (an operator's portal and app look, written by its admins) and /v1/app-config (public:
what the app and the portal read before anyone signs in, cacheable with an ETag)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from activities.branding import records
from activities.branding.io import Branding, FooterLink
from activities.branding.operators import resolve_operator
from activities.catalog.records import operator_of
from api.deps import OperatorAdminDep, OperatorStaffDep, SessionDep, SettingsDep
from api.docs import BINARY
from api.errors import ApiError
from api.schemas.branding import AppConfigOut, BrandingIn, BrandingOut, LogoIn
from domain.branding import LANGUAGES

router = APIRouter(tags=["branding"])
CACHE_CONTROL = "public, max-age=60"


def _out(branding: Branding) -> dict[str, Any]:
    return BrandingOut.model_validate(branding.model_dump()).model_dump(mode="json")


@router.get("/v1/branding", response_model=BrandingOut, summary="Your portal's branding")
def get_branding(principal: OperatorStaffDep, session: SessionDep) -> dict[str, Any]:
    return _out(records.branding_of(session, operator_of(principal)))


@router.put("/v1/branding", response_model=BrandingOut, summary="Set your portal's and app's branding")
def put_branding(body: BrandingIn, principal: OperatorAdminDep, session: SessionDep) -> dict[str, Any]:
    wanted = Branding(
        organisation_id=operator_of(principal),
        name=body.name,
        logo_url=body.logo_url,
        colours=dataclasses.asdict(body.colours.checked()),
        font_family=body.font_family,
        footer_links=[FooterLink(**link.model_dump()) for link in body.footer_links],
        support_email=body.support_email,
        support_phone=body.support_phone,
        support_hours=body.support_hours,
        hosts=body.hosts,
        default_language=body.default_language,
    )
    saved = records.save_branding(
        session, operator_of(principal), wanted, logo_url_set="logo_url" in body.model_fields_set
    )
    return _out(saved)


@router.put(
    "/v1/branding/logo",
    response_model=BrandingOut,
    summary="Upload your logo: PNG, JPEG or WebP of at most 256 KB, base64 in JSON",
)
def put_logo(body: LogoIn, principal: OperatorAdminDep, session: SessionDep) -> dict[str, Any]:
    return _out(records.save_logo(session, operator_of(principal), body.decoded(), body.content_type))


def _operator(session: SessionDep, request: Request, settings: SettingsDep, operator: str | None) -> str:
    if operator:
        if not records.is_operator(session, operator):
            raise ApiError(404, "operator_unknown", f"No operator {operator} has a portal here")
        return operator
    found = resolve_operator(session, request.headers.get("host"), settings.portal_operator)
    if found is None:
        raise ApiError(404, "operator_unknown", "Say which operator with ?operator=org_…")
    return found


def _cached(request: Request, body: dict[str, Any]) -> Response:
    raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Host"}
    wanted = {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}
    if etag in wanted or "*" in wanted:
        return Response(status_code=304, headers=headers)
    return JSONResponse(body, headers=headers)


@router.get(
    "/v1/app-config",
    response_model=AppConfigOut,
    summary="The app's configuration and branding (public; by ?operator= or the request's Host)",
    responses={304: {"description": "Not modified (If-None-Match matched the ETag)"}},
)
def app_config(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    operator: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    organisation_id = _operator(session, request, settings, operator)
    names = request.app.state.payment_gateways.names()
    body = AppConfigOut(
        organisation_id=organisation_id,
        branding=BrandingOut.model_validate(records.branding_of(session, organisation_id).model_dump()),
        api_base_url=settings.public_url.rstrip("/"),
        oauth_client_id=records.app_client_id(session, organisation_id),
        stripe_publishable_key=settings.stripe_publishable_key if "stripe" in names else None,
        languages=list(LANGUAGES),
        payment_methods=sorted(names),
    ).model_dump(mode="json")
    return _cached(request, body)


@router.get(
    "/v1/app-config/logo",
    summary="The operator's uploaded logo (public)",
    include_in_schema=False,  # an image for <img src> (its URL is in /v1/app-config), not an API call
    response_class=Response,
    responses={
        200: {
            "description": "The logo as uploaded (PNG, JPEG or WebP)",
            "content": {kind: {"schema": BINARY} for kind in ("image/png", "image/jpeg", "image/webp")},
        }
    },
)
def app_logo(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    operator: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    organisation_id = _operator(session, request, settings, operator)
    found = records.logo_of(session, organisation_id)
    if found is None:
        raise ApiError(404, "logo_not_found", "This operator has not uploaded a logo")
    data, kind = found
    return Response(
        data, media_type=kind, headers={"Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
    )
