"""Inputs and outputs of the wallet activities, and the activities as workflows call them: the prepaid
period debit, and a card top-up (charge the card, then credit the wallet)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel
from temporalio import activity


class PrepaidDebit(BaseModel):
    subscription_id: str
    on: date
    include_pending: bool = False  # onboarding debits the first period before the services are active
    include_suspended: bool = False  # a top-up pays the period of services suspended for lack of funds


class PrepaidDebitResult(BaseModel):
    subscription_id: str
    status: Literal["debited", "already_debited", "insufficient_funds", "nothing_due"]
    period_start: date | None = None
    period_end: date | None = None
    amount_minor: int = 0
    currency: str = ""
    transaction_id: str | None = None
    balance_minor: int = 0
    low_balance_notice: bool = False


class WalletActivities:
    """Wallet activities as workflows call them (implemented in activities/wallets/activities.py)."""

    @activity.defn(name="debit_prepaid_period")
    def debit_prepaid_period(self, request: PrepaidDebit) -> PrepaidDebitResult:
        """Debit the wallet for the prepaid period containing ``on``, once per (subscription, period)."""
        raise NotImplementedError


class CardTopUp(BaseModel):
    """A card top-up the API accepted: the (visible) account's wallet, the amount, the card and the key."""

    account_id: str
    currency: str
    amount_minor: int
    gateway: str
    payment_method_token: str
    key: str
    booked_on: date


class TopUpCharged(BaseModel):
    """The gateway's reference for the charge and the method name the wallet records."""

    reference: str
    method: str


class TopUpCredit(BaseModel):
    """What to credit: the top-up and its charge."""

    top_up: CardTopUp
    charged: TopUpCharged


class TopUpCredited(BaseModel):
    """The wallet transaction of the top-up."""

    transaction_id: str


class WalletTopUpActivities:
    """The WalletTopUp process's activities as workflows call them (implemented in wallets/activities.py)."""

    @activity.defn(name="charge_wallet_top_up")
    def charge(self, top_up: CardTopUp) -> TopUpCharged:
        """Charge the card (asking the gateway first on a retry); a decline refuses the top-up (402)."""
        raise NotImplementedError

    @activity.defn(name="credit_wallet_top_up")
    def credit(self, credit: TopUpCredit) -> TopUpCredited:
        """Credit the charged amount to the wallet, once per key."""
        raise NotImplementedError


__all__ = [
    "CardTopUp",
    "PrepaidDebit",
    "PrepaidDebitResult",
    "TopUpCharged",
    "TopUpCredit",
    "TopUpCredited",
    "WalletActivities",
    "WalletTopUpActivities",
]
