"""/v1/webhook-endpoints: where an operator's business events are POSTed, signed (operator admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from activities.webhooks import endpoints
from activities.webhooks.endpoints import DeliveryView, EndpointSpec
from api.deps import IdempotentWriteDep, OperatorAdminDep, SessionDep, SettingsDep
from api.errors import ApiError, not_found
from api.schemas.common import Page
from api.schemas.webhooks import (
    AttemptOut,
    DeliveryOut,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointUpdate,
)
from domain import webhooks
from domain.principal import Principal
from models.webhooks import WebhookEndpoint
from runtime.settings import Settings

router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhooks"])


def endpoint_out(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return EndpointOut.model_validate(endpoint, from_attributes=True).model_dump(mode="json")


def delivery_out(view: DeliveryView) -> dict[str, Any]:
    own = set(DeliveryOut.model_fields) - {"event_type", "attempt_log"}
    fields = {name: getattr(view.delivery, name) for name in own}
    log = [AttemptOut.model_validate(a, from_attributes=True) for a in view.attempts]
    return DeliveryOut(**fields, event_type=view.event_type, attempt_log=log).model_dump(mode="json")


def checked(settings: Settings, url: str | None, event_types: list[str] | None) -> None:
    """Refuse a URL or event types the rules of domain/webhooks.py refuse (422 with the rule's code)."""
    try:
        if url is not None:
            webhooks.check_url(url, production=settings.environment == "production")
        if event_types is not None:
            webhooks.check_event_types(event_types)
    except webhooks.EndpointRejected as exc:
        raise ApiError(422, exc.code, str(exc)) from None


def owned(session: Session, principal: Principal, endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint:
    endpoint = endpoints.find_endpoint(session, principal, endpoint_id, lock=lock)
    if endpoint is None:
        raise not_found("webhook_endpoint", endpoint_id)
    return endpoint


@router.post(
    "",
    status_code=201,
    response_model=EndpointCreated,
    summary="Add a webhook endpoint (its signing secret is shown in this answer only)",
)
def create_endpoint(
    body: EndpointCreate, principal: OperatorAdminDep, write: IdempotentWriteDep, settings: SettingsDep
) -> JSONResponse:
    checked(settings, body.url, body.event_types)
    secret: str | None = None

    def produce(session: Session) -> dict[str, Any]:
        nonlocal secret
        spec = EndpointSpec(body.url, webhooks.check_event_types(body.event_types), body.enabled)
        vault = webhooks.secret_vault(settings.data_key)
        endpoint, secret = endpoints.create_endpoint(session, principal, spec, vault)
        return {**endpoint_out(endpoint), "secret": None}  # the secret is stored sealed only, not here

    stored = write.store(body, produce)
    return JSONResponse({**stored.body, "secret": secret}, status_code=stored.status, headers=stored.headers)


@router.get("", response_model=Page[EndpointOut], summary="Your organisation's webhook endpoints")
def list_endpoints(principal: OperatorAdminDep, session: SessionDep) -> dict[str, Any]:
    rows = endpoints.list_endpoints(session, principal)
    return {"data": [endpoint_out(e) for e in rows], "next_cursor": None, "has_more": False}


@router.get("/{endpoint_id}", response_model=EndpointOut, summary="Get a webhook endpoint (never its secret)")
def get_endpoint(endpoint_id: str, principal: OperatorAdminDep, session: SessionDep) -> dict[str, Any]:
    return endpoint_out(owned(session, principal, endpoint_id))


@router.patch(
    "/{endpoint_id}", response_model=EndpointOut, summary="Edit a webhook endpoint (enable it again)"
)
def update_endpoint(
    endpoint_id: str,
    body: EndpointUpdate,
    principal: OperatorAdminDep,
    session: SessionDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if not changes or any(value is None for value in changes.values()):
        raise ApiError(422, "empty_update", "Name at least one field to change, none of them null")
    checked(settings, body.url, body.event_types)
    endpoint = owned(session, principal, endpoint_id, lock=True)
    types = webhooks.check_event_types(body.event_types) if body.event_types is not None else None
    endpoints.update_endpoint(endpoint, body.url, types, body.enabled)
    session.flush()
    return endpoint_out(endpoint)


@router.delete(
    "/{endpoint_id}", status_code=204, response_class=Response, summary="Delete a webhook endpoint"
)
def delete_endpoint(endpoint_id: str, principal: OperatorAdminDep, session: SessionDep) -> Response:
    session.delete(owned(session, principal, endpoint_id, lock=True))
    session.flush()
    return Response(status_code=204)


@router.get(
    "/{endpoint_id}/deliveries",
    response_model=Page[DeliveryOut],
    summary="The endpoint's latest 100 deliveries (newest first), each with its attempts",
)
def list_deliveries(endpoint_id: str, principal: OperatorAdminDep, session: SessionDep) -> dict[str, Any]:
    views = endpoints.deliveries_of(session, owned(session, principal, endpoint_id))
    return {"data": [delivery_out(v) for v in views], "next_cursor": None, "has_more": False}


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryOut,
    summary="Send a delivery again (the webhook relay picks it up within seconds)",
)
def redeliver(
    endpoint_id: str, delivery_id: str, principal: OperatorAdminDep, write: IdempotentWriteDep
) -> Response:
    def produce(session: Session) -> dict[str, Any]:
        endpoint = owned(session, principal, endpoint_id)
        delivery = endpoints.redeliver(session, endpoint, delivery_id)
        if delivery is None:
            raise not_found("webhook_delivery", delivery_id)
        session.flush()
        view = next(
            v for v in endpoints.deliveries_of(session, endpoint, limit=1_000_000) if v.delivery is delivery
        )
        return delivery_out(view)

    return write({}, produce, status=202)
