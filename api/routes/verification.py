"""Confirming an account's email: the token from the verification email signals the process."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from temporalio.client import Client

from api.deps import SettingsDep, TemporalGatewayDep
from api.docs import problem_response
from api.errors import ApiError
from api.process_starter import signal_process
from api.schemas.common import Strict
from domain.verification import check_token
from models.accounts import Account
from models.base import unit_of_work
from runtime.settings import Settings
from workflows.account_verification import AccountVerificationWorkflow


def pending_account(settings: Settings, account_id: str, token: str) -> dict[str, Any]:
    """The account the token belongs to; refuses bad tokens and accounts not awaiting confirmation."""
    with unit_of_work(settings.database_url or "") as session:
        account = session.get(Account, account_id) if account_id.startswith("acc_") else None
        if account is None or not check_token(settings.secret_key, account_id, account.email, token):
            raise ApiError(404, "verification_not_found", "This verification link is not valid")
        return {
            "id": account.id,
            "status": account.verification_status,
            "process_id": account.verification_process_id,
            "email": account.email,
        }


async def confirm(client: Client, settings: Settings, account_id: str, token: str) -> dict[str, Any]:
    from fastapi.concurrency import run_in_threadpool

    account = await run_in_threadpool(pending_account, settings, account_id, token)
    if account["status"] == "verified":
        return account
    if account["status"] != "pending" or not account["process_id"]:
        raise ApiError(
            410,
            "verification_expired",
            f"The confirmation window for {account['email']} has closed; ask for a new verification",
        )
    await signal_process(
        client,
        account["process_id"],
        AccountVerificationWorkflow.confirm,
        not_found=ApiError(
            410, "verification_expired", "The confirmation window has closed; ask for a new verification"
        ),
        unavailable="Could not reach Temporal; try the link again",
    )
    return {**account, "status": "confirming"}


router = APIRouter(prefix="/v1/verifications", tags=["accounts"])


class VerificationConfirm(Strict):
    account_id: str = Field(max_length=40)
    token: str = Field(min_length=10, max_length=200)


class VerificationOut(BaseModel):
    account_id: str
    status: str = Field(description="confirming (the process was told), or verified (already)")


@router.post(
    "",
    status_code=202,
    response_model=VerificationOut,
    summary="Confirm an account's email with the token from the email",
    responses={410: problem_response("`verification_expired`: the confirmation window has closed")},
)
async def confirm_verification(
    body: VerificationConfirm, settings: SettingsDep, gateway: TemporalGatewayDep
) -> dict[str, Any]:
    """No API key: the token in the verification email is the credential. Repeating it is harmless."""
    result = await confirm(await gateway.client(), settings, body.account_id, body.token)
    return {"account_id": result["id"], "status": result["status"]}
