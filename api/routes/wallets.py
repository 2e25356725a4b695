"""/v1/accounts/{id}/wallets: balances, top-ups (card, cash, voucher), history, low-balance alert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.accounts.records import visible_account
from activities.subscriptions.funded_resumes import suspended_for_funds
from activities.subscriptions.io import FundedResume, ResumeTarget
from activities.wallets import vouchers
from activities.wallets.balances import check_currency, find_wallet, history, wallet_for
from activities.wallets.io import CardTopUp, TopUpCredited
from activities.wallets.top_ups import credit_top_up
from api.deps import IdempotentWriteDep, SessionDep, SettingsDep, StaffDep
from api.docs import problem_response
from api.errors import ApiError
from api.payment_gateways import gateways_for
from api.process_results import run_process, start_once
from api.process_starter import ProcessStart
from api.schemas.wallets import (
    TopUpIn,
    TopUpOut,
    TransactionPage,
    WalletList,
    WalletOut,
    WalletSettings,
    WalletTransactionOut,
)
from domain import process_ids
from domain.errors import RuleViolation
from domain.money import check_amount
from domain.principal import Principal
from domain.process_ids import ProcessLabels
from domain.telephony import E164_PHONE, MOBILE_MONEY
from models.base import unit_of_work
from models.wallets import Wallet, WalletTransaction
from runtime.settings import Settings
from workflows.prepaid_resume import PrepaidResumeWorkflow
from workflows.wallet_top_up import WalletTopUpWorkflow

router = APIRouter(prefix="/v1/accounts", tags=["wallets"])


def wallet_out(wallet: Wallet) -> dict[str, Any]:
    return WalletOut.model_validate(wallet).model_dump(mode="json")


def tx_out(tx: WalletTransaction) -> dict[str, Any]:
    return WalletTransactionOut.model_validate(tx).model_dump(mode="json")


@router.get("/{account_id}/wallets", response_model=WalletList, summary="The account's wallets")
def list_wallets(account_id: str, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    account = visible_account(session, principal, account_id)
    rows = session.execute(
        select(Wallet).where(Wallet.account_id == account.id).order_by(Wallet.currency)
    ).scalars()
    return {"data": [wallet_out(w) for w in rows]}


@router.patch(
    "/{account_id}/wallets/{currency}", response_model=WalletOut, summary="Set the low-balance alert"
)
def update_wallet(
    account_id: str, currency: str, body: WalletSettings, principal: StaffDep, session: SessionDep
) -> dict[str, Any]:
    account = visible_account(session, principal, account_id, lock=True)
    check_currency(session, account, currency)
    check_amount(body.low_balance_threshold_minor, currency, field="low_balance_threshold_minor")
    wallet = wallet_for(session, account, currency, lock=True)
    wallet.low_balance_threshold_minor = body.low_balance_threshold_minor
    wallet.low_balance_notified = False
    session.flush()
    return wallet_out(wallet)


def _require(value: Any, field: str, method: str) -> Any:
    if value is None:
        raise RuleViolation("field_required", f"a {method} top-up needs {field}", field=field)
    return value


@router.post(
    "/{account_id}/wallets/{currency}/top-ups",
    status_code=201,
    response_model=TopUpOut,
    summary="Top up a wallet by card, cash or voucher",
    responses={402: problem_response("`top_up_declined`: the card was declined; nothing was added")},
)
async def top_up(
    account_id: str,
    currency: str,
    body: TopUpIn,
    request: Request,
    principal: StaffDep,
    settings: SettingsDep,
    write: IdempotentWriteDep,
) -> Response:
    """Credits the wallet (a card top-up through a WalletTopUp process); prepaid services suspended for
    lack of funds that it can now pay resume (through a PrepaidResume process)."""
    key = write.key
    today = datetime.now(UTC).date()
    card = await run_in_threadpool(
        _check, account_id, currency, body, request, principal, settings, key, today
    )
    transaction_id = None
    if card is not None:
        credited = await run_process(
            request.app.state.temporal,
            settings,
            ProcessStart(
                WalletTopUpWorkflow.run,
                card,
                process_ids.wallet_top_up(account_id, key),
                ProcessLabels(
                    process="WalletTopUp",
                    summary=f"Card top-up of {account_id}'s wallet",
                    organisation_id=principal.organisation_id,
                    account_id=account_id,
                ),
            ),
            TopUpCredited,
        )
        transaction_id = credited.transaction_id
    credit = _TopUpCredit(account_id, currency, body, principal, key, today, transaction_id)
    stored = await run_in_threadpool(write.store, body, credit.produce)
    await _resume_funded(request, settings, account_id, principal.organisation_id, key)
    return stored.response()


def _check(
    account_id: str,
    currency: str,
    body: TopUpIn,
    request: Request,
    principal: Any,
    settings: Any,
    key: str,
    today: date,
) -> CardTopUp | None:
    """Refuse a bad top-up before anything moves; a card top-up's process input."""
    if body.currency is not None and body.currency != currency:
        raise RuleViolation(
            "currency_mismatch", f"this is the {currency} wallet, not {body.currency}", field="currency"
        )
    with unit_of_work(settings.database_url or "") as session:
        account = visible_account(session, principal, account_id)
        check_currency(session, account, currency)
    if body.amount_minor is not None:
        check_amount(body.amount_minor, currency)
    if body.method == "card":
        amount = _require(body.amount_minor, "amount_minor", "card")
        token = _require(body.payment_method_token, "payment_method_token", "card")
        try:
            gateways_for(request).get(body.gateway)
        except LookupError as err:
            raise RuleViolation("gateway_unknown", str(err), field="gateway") from err
        return CardTopUp(
            account_id=account_id,
            currency=currency,
            amount_minor=amount,
            gateway=body.gateway,
            payment_method_token=token,
            key=key,
            booked_on=today,
        )
    if body.method == "mobile_money":
        return _mobile_money_top_up(account_id, currency, body, request, key, today)
    if body.method == "cash":
        _require(body.amount_minor, "amount_minor", "cash")
    else:
        _require(body.voucher_code, "voucher_code", "voucher")
    return None


@dataclass(frozen=True)
class _TopUpCredit:
    """The top-up's write: what the card process credited, or a voucher redeemed, or cash credited."""

    account_id: str
    currency: str
    body: TopUpIn
    principal: Principal
    key: str
    today: date
    transaction_id: str | None

    def produce(self, session: Session) -> dict[str, Any]:
        body, currency = self.body, self.currency
        locked = visible_account(session, self.principal, self.account_id, lock=True)
        if self.transaction_id is not None:  # the card top-up's process credited the wallet
            tx = session.get(WalletTransaction, self.transaction_id)
            assert tx is not None
        elif body.method == "voucher":
            _, _, tx = vouchers.redeem(
                session,
                code=body.voucher_code or "",
                account=locked,
                subscription_id=None,
                today=self.today,
                currency=currency,
            )
        else:
            tx = credit_top_up(
                session,
                locked,
                currency,
                body.amount_minor or 0,
                method="cash",
                reference=body.receipt,
                key=f"top-up:{locked.id}:{self.key}",
                booked_on=self.today,
            )
        wallet = find_wallet(session, locked.id, currency)
        return {"object": "wallet_top_up", "wallet": wallet_out(wallet), "transaction": tx_out(tx)}


async def _resume_funded(
    request: Request, settings: Settings, account_id: str, organisation_id: str, key: str
) -> None:
    """Start the PrepaidResume process when the account has prepaid services suspended for lack of funds.

    The top-up is recorded whatever happens here: with Temporal unreachable the services stay suspended
    until the next top-up or renewal, as before.
    """
    found = await run_in_threadpool(suspended_for_funds, settings.database_url or "", account_id)
    if not found:
        return
    resume = FundedResume(
        organisation_id=organisation_id,
        account_id=account_id,
        targets=[
            ResumeTarget(subscription_id=s, process_id=process_ids.prepaid_resume(s, key)) for s in found
        ],
    )
    labels = ProcessLabels(
        process="PrepaidResume",
        summary=f"Resume of {account_id}'s prepaid subscriptions after a top-up",
        organisation_id=organisation_id,
        account_id=account_id,
    )
    start = ProcessStart(
        PrepaidResumeWorkflow.run, resume, process_ids.prepaid_resumes(account_id, key), labels
    )
    try:
        await start_once(request.app.state.temporal, settings, start)
    except ApiError:
        return


@router.get(
    "/{account_id}/wallets/{currency}/transactions",
    response_model=TransactionPage,
    summary="A wallet's movements, newest first",
)
def wallet_transactions(
    account_id: str,
    currency: str,
    principal: StaffDep,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    account = visible_account(session, principal, account_id)
    try:
        wallet = find_wallet(session, account.id, currency)
    except RuleViolation:
        raise ApiError(404, "wallet_not_found", f"{account.id} has no {currency} wallet") from None
    rows, next_cursor = history(session, wallet, after=cursor, limit=limit)
    return {
        "data": [tx_out(t) for t in rows],
        "next_cursor": next_cursor,
        "has_more": next_cursor is not None,
    }


def _mobile_money_top_up(
    account_id: str, currency: str, body: TopUpIn, request: Request, key: str, today: date
) -> CardTopUp:
    """A push payment to the subscriber's phone, then the credit (the WalletTopUp process, as for a card)."""
    amount = _require(body.amount_minor, "amount_minor", "mobile_money")
    msisdn = _require(body.msisdn, "msisdn", "mobile_money")
    if not E164_PHONE.fullmatch(msisdn):
        raise RuleViolation("invalid_msisdn", f"{msisdn!r} is not a phone number in E.164", field="msisdn")
    try:
        gateways_for(request).get(MOBILE_MONEY)
    except LookupError as err:
        raise RuleViolation("gateway_unknown", str(err), field="method") from err
    return CardTopUp(
        account_id=account_id,
        currency=currency,
        amount_minor=amount,
        gateway=MOBILE_MONEY,
        payment_method_token=msisdn,
        key=key,
        booked_on=today,
    )
