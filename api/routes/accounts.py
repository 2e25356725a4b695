"""/v1/accounts: create (optionally starting verification), read, list with filters, edit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from activities.accounts import records as account_store
from api.deps import IdempotentWriteDep, SessionDep, SettingsDep, StaffDep, TemporalGatewayDep
from api.errors import ApiError
from api.processes import start_account_verification
from api.schemas.accounts import AccountCreate, AccountCreated, AccountOut, AccountUpdate
from api.schemas.common import Page
from domain.verification import workflow_id_for
from models.accounts import Account
from models.base import unit_of_work

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])


def account_out(account: Account) -> dict[str, Any]:
    return AccountOut.model_validate(account, from_attributes=True).model_dump(mode="json")


@router.post("", status_code=201, response_model=AccountCreated, summary="Create an account")
async def create_account(
    body: AccountCreate,
    principal: StaffDep,
    write: IdempotentWriteDep,
    settings: SettingsDep,
    temporal: TemporalGatewayDep,
) -> Response:
    def produce(session: Session) -> dict[str, Any]:
        fields = body.model_dump(mode="json", exclude_none=True)
        account = account_store.create_account(session, principal, fields)
        if body.verify:
            account.verification_process_id = workflow_id_for(account.id)
            session.flush()
        return {**account_out(account), "process_id": account.verification_process_id}

    payload = body.model_dump(mode="json", exclude_unset=True)
    stored = await run_in_threadpool(write.store, payload, produce)
    if stored.body.get("process_id"):
        await start_account_verification(await temporal.client(), settings, stored.body)
    return stored.response()


@router.get("", response_model=Page[AccountOut], summary="List accounts in your organisation's subtree")
def list_accounts(
    principal: StaffDep,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    type: Annotated[str | None, Query(pattern="^(person|company)$")] = None,
    status: Annotated[str | None, Query(pattern="^(active|closed)$")] = None,
    organisation_id: Annotated[str | None, Query(max_length=40)] = None,
    parent_account_id: Annotated[str | None, Query(max_length=40)] = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    currency: Annotated[str | None, Query(pattern="^[A-Z]{3}$")] = None,
    verification_status: Annotated[
        str | None, Query(pattern="^(not_requested|pending|verified|unverified)$")
    ] = None,
    external_ref: Annotated[str | None, Query(max_length=128)] = None,
) -> dict[str, Any]:
    filters = {
        "type": type,
        "status": status,
        "organisation_id": organisation_id,
        "parent_account_id": parent_account_id,
        "email": email,
        "currency": currency,
        "verification_status": verification_status,
        "external_ref": external_ref,
    }
    page = account_store.list_accounts(session, principal, filters, cursor, limit)
    data = [account_out(a) for a in page.accounts]
    return {"data": data, "next_cursor": page.next_cursor, "has_more": page.next_cursor is not None}


@router.get("/{account_id}", response_model=AccountOut, summary="Get an account")
def get_account(account_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    return account_out(account_store.visible_account(session, principal, account_id))


@router.patch("/{account_id}", response_model=AccountOut, summary="Edit an account")
async def update_account(
    account_id: str,
    body: AccountUpdate,
    principal: StaffDep,
    settings: SettingsDep,
    temporal: TemporalGatewayDep,
    if_match: Annotated[str | None, Header(alias="If-Match", description="The version you edited")] = None,
) -> dict[str, Any]:
    """A new email address is not verified: its confirmation starts again when the old address was
    verified (or being verified), or when the body says ``"verify": true``. The currency cannot change
    once the account has subscriptions, invoices or a wallet (409 ``currency_locked``)."""
    changes = body.model_dump(mode="json", exclude_unset=True)
    if not changes:
        raise ApiError(422, "empty_update", "The body names no field to change")
    expected = None
    if if_match is not None:
        stripped = if_match.strip('"W/ ')
        if not stripped.isdigit():
            raise ApiError(400, "invalid_if_match", "If-Match must be the account's version number")
        expected = int(stripped)

    def write() -> tuple[dict[str, Any], bool]:
        with unit_of_work(settings.database_url or "") as session:
            account, restart = account_store.update_account(session, principal, account_id, changes, expected)
            return account_out(account), restart

    out, restart = await run_in_threadpool(write)
    if restart:
        await start_account_verification(
            await temporal.client(), settings, {**out, "process_id": out["verification_process_id"]}
        )
    return out
