"""/v1/accounts/{id}/payment-methods: register a card at its gateway (token only), list, set default."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from activities.payments import methods
from api.deps import IdempotencyKeyDep, IdempotentWriteDep, SessionDep, SettingsDep, StaffDep
from api.payment_gateways import gateways_for
from api.schemas.payments import (
    CardMethodCreate,
    CashMethodCreate,
    MobileMoneyMethodCreate,
    PaymentMethodOut,
)
from domain.telephony import MOBILE_MONEY
from models.payments import PaymentMethod

router = APIRouter(prefix="/v1/accounts/{account_id}/payment-methods", tags=["payments"])


def method_out(method: PaymentMethod) -> dict[str, Any]:
    return PaymentMethodOut.model_validate(method).model_dump(mode="json")


@router.post(
    "",
    status_code=201,
    response_model=PaymentMethodOut,
    summary="Add a payment method (card token, mobile-money phone, cash)",
)
async def add_method(
    account_id: str,
    body: Annotated[
        CardMethodCreate | MobileMoneyMethodCreate | CashMethodCreate, Body(discriminator="kind")
    ],
    request: Request,
    principal: StaffDep,
    write: IdempotentWriteDep,
    settings: SettingsDep,
) -> Response:
    def register(session: Session) -> dict[str, Any]:
        if isinstance(body, CardMethodCreate | MobileMoneyMethodCreate):
            method = methods.register_card(
                settings.database_url or "",
                gateways_for(request),
                principal,
                account_id,
                token=body.token if isinstance(body, CardMethodCreate) else body.msisdn,
                gateway_name=body.gateway if isinstance(body, CardMethodCreate) else MOBILE_MONEY,
                make_it_default=body.default,
                auto_collect=body.auto_collect,
            )
            return method_out(method)
        method = methods.add_offline_method(session, principal, account_id, "cash")
        if body.default:
            methods.make_default(session, method)
        return method_out(method)

    return await run_in_threadpool(write, body, register)


@router.get("", response_model=list[PaymentMethodOut], summary="The account's payment methods")
def list_methods(account_id: str, principal: StaffDep, session: SessionDep) -> list[dict[str, Any]]:
    return [method_out(m) for m in methods.list_methods(session, principal, account_id)]


@router.post("/{method_id}/default", response_model=PaymentMethodOut, summary="Make this the default method")
def set_default(
    account_id: str, method_id: str, principal: StaffDep, key: IdempotencyKeyDep, session: SessionDep
) -> dict[str, Any]:
    return method_out(methods.set_default(session, principal, account_id, method_id))
