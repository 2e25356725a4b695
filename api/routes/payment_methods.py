"""/v1/accounts/{id}/payment-methods: register a card at its gateway (token only), list, set default."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from activities.payments import methods
from api.deps import IdempotencyKeyDep, SettingsDep, StaffDep
from api.idempotency import run_once
from api.payment_gateways import gateways_for
from api.schemas.payments import CardMethodCreate, CashMethodCreate, PaymentMethodOut
from models.base import unit_of_work
from models.payments import PaymentMethod

router = APIRouter(prefix="/v1/accounts/{account_id}/payment-methods", tags=["payments"])


def method_out(method: PaymentMethod) -> dict[str, Any]:
    return PaymentMethodOut.model_validate(method).model_dump(mode="json")


@router.post(
    "", status_code=201, response_model=PaymentMethodOut, summary="Add a payment method (card token)"
)
async def add_method(
    account_id: str,
    body: Annotated[CardMethodCreate | CashMethodCreate, Body(discriminator="kind")],
    request: Request,
    principal: StaffDep,
    settings: SettingsDep,
    key: IdempotencyKeyDep,
) -> JSONResponse:
    url = settings.database_url or ""
    payload = body.model_dump(mode="json")

    def register() -> dict[str, Any]:
        if isinstance(body, CardMethodCreate):
            method = methods.register_card(
                url,
                gateways_for(request),
                principal,
                account_id,
                token=body.token,
                gateway_name=body.gateway,
                make_it_default=body.default,
                auto_collect=body.auto_collect,
            )
            return method_out(method)
        with unit_of_work(url) as session:
            method = methods.add_offline_method(session, principal, account_id, "cash")
            if body.default:
                methods.make_default(session, method)
            return method_out(method)

    def write() -> tuple[int, dict[str, Any], bool]:
        with unit_of_work(url) as session:
            stored = run_once(
                session,
                organisation_id=principal.organisation_id,
                key=key,
                method="POST",
                path=request.url.path,
                payload=payload,
                produce=lambda: (201, register()),
            )
            return stored.status, stored.body, stored.replayed

    status, out, replayed = await run_in_threadpool(write)
    return JSONResponse(out, status_code=status, headers={"Idempotent-Replayed": "true"} if replayed else {})


@router.get("", response_model=list[PaymentMethodOut], summary="The account's payment methods")
def list_methods(account_id: str, principal: StaffDep, settings: SettingsDep) -> list[dict[str, Any]]:
    with unit_of_work(settings.database_url or "") as session:
        return [method_out(m) for m in methods.list_methods(session, principal, account_id)]


@router.post("/{method_id}/default", response_model=PaymentMethodOut, summary="Make this the default method")
def set_default(
    account_id: str, method_id: str, principal: StaffDep, settings: SettingsDep, key: IdempotencyKeyDep
) -> dict[str, Any]:
    with unit_of_work(settings.database_url or "") as session:
        return method_out(methods.set_default(session, principal, account_id, method_id))
