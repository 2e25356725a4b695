"""A subscriber's wallet top-up by card: the operator's limit of one top-up, and the card to charge (a
card Stripe.js just tokenised, or one of the account's saved cards). The top-up itself is the wallets
area's (the WalletTopUp process, credited once per key)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from activities.invoices.credit_notes import issuer_for
from domain.currency import is_currency, minor_units
from domain.errors import NotFound, RuleViolation
from domain.money import Money
from domain.subscribers import Subscriber
from models.accounts import Account
from models.organisations import Organisation
from models.payments import PaymentMethod

DEFAULT_TOP_UP_MAX_MAJOR_UNITS = 500
"""One self-service top-up at most, when the operator has set no ``top_up_max_minor`` for the currency."""


def top_up_limit(limits: dict[str, int] | None, currency: str) -> int:
    """The most one top-up in ``currency`` may be (minor units): the operator's, else the default."""
    if limits and currency in limits:
        return int(limits[currency])
    return DEFAULT_TOP_UP_MAX_MAJOR_UNITS * 10 ** minor_units(currency)


def check_top_up(session: Session, account: Account, currency: str, amount_minor: int) -> None:
    """Refuse (422 ``top_up_limit``, naming the limit) a top-up above the operator's maximum."""
    if not is_currency(currency):
        raise RuleViolation("currency_unknown", f"{currency!r} is not an ISO 4217 currency", field="currency")
    operator = session.get(Organisation, issuer_for(session, account))
    ceiling = top_up_limit(operator.top_up_max_minor if operator else None, currency)
    if amount_minor > ceiling:
        raise RuleViolation(
            "top_up_limit",
            f"one top-up is at most {Money(ceiling, currency).format()}; "
            f"{Money(amount_minor, currency).format()} is over the limit",
            field="amount_minor",
        )


def card_token(
    session: Session, subscriber: Subscriber, token: str | None, method_id: str | None
) -> tuple[str, str]:
    """(gateway, token) of the card to charge: a saved card of the subscriber's, or a Stripe.js token."""
    if method_id:
        method = session.get(PaymentMethod, method_id)
        if (
            method is None
            or not subscriber.may_see(method.account_id)
            or method.status != "active"
            or not method.gateway_token
        ):
            raise NotFound("payment_method", method_id)
        return method.gateway, method.gateway_token
    if not token:
        raise RuleViolation(
            "field_required", "send payment_method_token or payment_method_id", field="payment_method_token"
        )
    return "stripe", token
