"""Inputs and outputs of the wallet activities, and the activities as workflows call them."""

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


__all__ = ["PrepaidDebit", "PrepaidDebitResult", "WalletActivities"]
