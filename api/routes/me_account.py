"""/v1/me/account(s): the subscriber's own account (read, edit contact details) and, for a B2B parent, the
accounts it may see. Currency, tax, status, email and hierarchy stay with staff."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from activities.accounts import records as account_store
from activities.selfservice.access import subscriber_principal
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from api.routes.accounts import account_out
from api.schemas.accounts import AccountOut
from api.schemas.me_billing import MeAccountUpdate
from api.subscriber_deps import SubscriberDep
from models.accounts import Account
from models.base import unit_of_work

router = APIRouter(prefix="/v1/me", tags=["self-service"])


@router.get("/account", response_model=AccountOut, summary="The signed-in subscriber's own account")
def get_my_account(subscriber: SubscriberDep, session: SessionDep) -> dict[str, Any]:
    account = session.get(Account, subscriber.account_id)
    if account is None:
        raise ApiError(404, "account_not_found", "Your account no longer exists")
    return account_out(account)


@router.get(
    "/accounts",
    response_model=list[AccountOut],
    summary="The accounts the subscriber may see: its own first, then a B2B parent's children",
)
def list_my_accounts(subscriber: SubscriberDep, session: SessionDep) -> list[dict[str, Any]]:
    rows = {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(subscriber.account_ids)))}
    return [account_out(rows[i]) for i in subscriber.account_ids if i in rows]


@router.patch(
    "/account",
    response_model=AccountOut,
    summary="Edit your contact details (names, phone, language, addresses, contacts)",
)
async def update_my_account(
    body: MeAccountUpdate, subscriber: SubscriberDep, settings: SettingsDep
) -> dict[str, Any]:
    changes = body.model_dump(mode="json", exclude_unset=True)
    if not changes:
        raise ApiError(422, "empty_update", "The body names no field to change")

    def write() -> dict[str, Any]:
        with unit_of_work(settings.database_url or "") as session:
            principal = subscriber_principal(session, subscriber)
            account, _ = account_store.update_account(
                session, principal, subscriber.account_id, changes, None
            )
            return account_out(account)

    return await run_in_threadpool(write)
