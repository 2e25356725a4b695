"""eWallet top-ups: money received for the wallet (cash at the counter, a confirmed gateway charge) and
the card charge behind a top-up, once per key.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from activities.wallets.balances import Movement, check_currency, move, wallet_for
from domain.errors import RuleViolation
from domain.wallets import top_up_entry
from integrations.payments.base import ChargeRequest, ChargeStatus, PaymentGateway
from models.accounts import Account
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
    if result.status is not ChargeStatus.SUCCEEDED:
        raise TopUpDeclined(
            "top_up_declined",
            f"{gateway.name} answered {result.status.value}"
            + (f" ({result.decline_code})" if result.decline_code else "")
            + "; nothing was added to the wallet",
        )
    return result.gateway_reference or gateway_key
