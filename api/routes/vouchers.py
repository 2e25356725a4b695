"""/v1/voucher-lots and /v1/vouchers/redeem: sell prepaid value as codes, redeem each exactly once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from activities.accounts.records import visible_account
from activities.wallets import vouchers
from activities.wallets.balances import find_wallet
from activities.wallets.vouchers import LotRequest
from api.deps import IdempotentWriteDep, OperatorAdminDep, StaffDep
from api.routes.wallets import tx_out, wallet_out
from api.schemas.wallets import LotCancelled, LotCreated, LotOut, RedeemIn, RedeemOut
from models.vouchers import VoucherLot

router = APIRouter(tags=["vouchers"])


def lot_out(lot: VoucherLot) -> dict[str, Any]:
    return LotOut.model_validate(lot).model_dump(mode="json")


def _today() -> Any:
    return datetime.now(UTC).date()


@router.post(
    "/v1/voucher-lots",
    status_code=201,
    response_model=LotCreated,
    summary="Create a lot of voucher codes (the codes are returned this once)",
)
def create_lot(body: LotRequest, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Response:
    fresh: dict[str, Any] = {}

    def produce(session: Session) -> dict[str, Any]:
        lot, codes = vouchers.create_lot(session, principal, body, _today())
        fresh.update(codes=codes, codes_csv=vouchers.codes_csv(lot, codes))
        # The stored answer (for replays) has no codes: they exist once, in this first answer.
        return {**lot_out(lot), "codes": [], "codes_csv": ""}

    stored = write.store(body, produce)
    if fresh:
        return JSONResponse({**stored.body, **fresh}, status_code=201)
    return stored.response()


@router.post("/v1/voucher-lots/{lot_id}/activate", response_model=LotOut, summary="Put a lot on sale")
def activate_lot(lot_id: str, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Response:
    return write({}, lambda session: lot_out(vouchers.activate_lot(session, principal, lot_id)), status=200)


@router.post("/v1/voucher-lots/{lot_id}/cancel", response_model=LotCancelled, summary="Withdraw a lot")
def cancel_lot(lot_id: str, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Response:
    def produce(session: Session) -> dict[str, Any]:
        lot, cancelled = vouchers.cancel_lot(session, principal, lot_id)
        return {**lot_out(lot), "vouchers_cancelled": cancelled}

    return write({}, produce, status=200)


@router.post(
    "/v1/vouchers/redeem",
    status_code=201,
    response_model=RedeemOut,
    summary="Redeem a voucher code to the account's wallet (or for its plan)",
)
def redeem(body: RedeemIn, principal: StaffDep, write: IdempotentWriteDep) -> Response:
    def produce(session: Session) -> dict[str, Any]:
        account = visible_account(session, principal, body.account_id, lock=True)
        voucher, lot, tx = vouchers.redeem(
            session, code=body.code, account=account, subscription_id=body.subscription_id, today=_today()
        )
        wallet = find_wallet(session, account.id, lot.currency)
        return {
            "object": "voucher_redemption",
            "voucher_id": voucher.id,
            "lot_id": lot.id,
            "value_minor": lot.value_minor,
            "currency": lot.currency,
            "plan_code": lot.plan_code,
            "subscription_id": body.subscription_id,
            "wallet": wallet_out(wallet),
            "transaction": tx_out(tx),
        }

    # The code is not stored in the idempotency record: only its hash is ever kept.
    payload = {**body.model_dump(mode="json"), "code": vouchers.code_hash_of(body.code)}
    return write(payload, produce)
