"""eWallet top-ups: money received for the wallet (cash at the counter, a confirmed gateway charge) and
the card charge behind a top-up, once per key; and the two steps of a card top-up (the WalletTopUp
process's activities, in activities.py): charge the card, then credit the wallet.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from activities.wallets.balances import Movement, check_currency, move, wallet_for
from activities.wallets.io import CardTopUp, TopUpCharged, TopUpCredit, TopUpCredited
from domain.errors import NotFound, RuleViolation
from domain.wallets import top_up_entry
from integrations.payments.base import (
    ChargeRequest,
    ChargeStatus,
    GatewayRegistry,
    GatewayUnavailable,
    PaymentGateway,
)
from models.accounts import Account
from models.base import unit_of_work
from models.wallets import WalletTransaction


class TopUpDeclined(RuleViolation):
    status = 402


def credit_top_up(
    session: Session,
    account: Account,
    currency: str,
    amount_minor: int,
    *,
    method: str,
    reference: str | None,
    key: str,
    booked_on: date,
) -> WalletTransaction:
    """Money received for the wallet (the gateway already confirmed it, or cash at the counter)."""
    check_currency(session, account, currency)
    wallet = wallet_for(session, account, currency, lock=True)
    movement = Movement(
        "top_up", amount_minor, key, method=method, reference=reference, description=f"top-up by {method}"
    )
    postings = top_up_entry(account.id, currency, amount_minor, method)
    return move(session, wallet, movement, postings, booked_on)[0]


def charge_for_top_up(
    gateway: PaymentGateway, account: Account, currency: str, amount_minor: int, token: str, key: str
) -> str:
    """Charge the card once per key (asking the gateway first on a retry); the gateway's reference."""
    gateway_key = f"wallet-top-up:{account.id}:{key}"
    result = gateway.lookup(gateway_key)
    if result is None:
        request = ChargeRequest(
            idempotency_key=gateway_key,
            account_id=account.id,
            amount_minor=amount_minor,
            currency=currency,
            method_token=token,
            description=f"wallet top-up {currency}",
        )
        result = gateway.charge(request)
    if result.status is ChargeStatus.PENDING and getattr(gateway, "awaits_confirmation", False):
        raise GatewayUnavailable(  # mobile money: the subscriber has not answered; the retry looks it up
            f"{gateway.name} has not answered {gateway_key} yet; nothing was added to the wallet"
        )
    if result.status is not ChargeStatus.SUCCEEDED:
        raise TopUpDeclined(
            "top_up_declined",
            f"{gateway.name} answered {result.status.value}"
            + (f" ({result.decline_code})" if result.decline_code else "")
            + "; nothing was added to the wallet",
        )
    return result.gateway_reference or gateway_key


def _account(url: str, account_id: str) -> Account:
    with unit_of_work(url) as session:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFound("account", account_id)
        session.expunge(account)
        return account


def charge_card_top_up(url: str, gateways: GatewayRegistry, top_up: CardTopUp) -> TopUpCharged:
    """Charge the card of a card top-up (asking the gateway first on a retry); a decline refuses it (402)."""
    try:
        gateway = gateways.get(top_up.gateway)
    except LookupError as err:
        raise RuleViolation("gateway_unknown", str(err), field="gateway") from err
    account = _account(url, top_up.account_id)
    reference = charge_for_top_up(
        gateway, account, top_up.currency, top_up.amount_minor, top_up.payment_method_token, top_up.key
    )
    return TopUpCharged(reference=reference, method=gateway.name)


def credit_card_top_up(url: str, credit: TopUpCredit) -> TopUpCredited:
    """Credit a charged card top-up to the wallet, once per key."""
    top_up, charged = credit.top_up, credit.charged
    with unit_of_work(url) as session:
        account = session.get(Account, top_up.account_id, with_for_update=True)
        if account is None:
            raise NotFound("account", top_up.account_id)
        tx = credit_top_up(
            session,
            account,
            top_up.currency,
            top_up.amount_minor,
            method=charged.method,
            reference=charged.reference,
            key=f"top-up:{account.id}:{top_up.key}",
            booked_on=top_up.booked_on,
        )
        return TopUpCredited(transaction_id=tx.id)
