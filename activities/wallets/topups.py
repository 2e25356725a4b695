"""A wallet top-up by card, as the WalletTopUp process's activities: charge the card once per key, then
credit the wallet once per key (the transaction scripts are in activities/wallets/top_ups.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel
from temporalio import activity

from activities.shared.failures import refusals_fail_the_process
from activities.wallets.top_ups import charge_for_top_up, credit_top_up
from domain.errors import NotFound, RuleViolation
from integrations.payments.base import GatewayRegistry
from models.accounts import Account
from models.base import unit_of_work
from runtime.settings import Settings


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
    """The WalletTopUp process's activities, with the worker's payment gateways."""

    def __init__(self, settings: Settings, gateways: GatewayRegistry) -> None:
        self.url = settings.database_url or ""
        self.gateways = gateways

    def _account(self, account_id: str, *, lock: bool = False) -> Any:
        with unit_of_work(self.url) as session:
            account = session.get(Account, account_id, with_for_update=lock)
            if account is None:
                raise NotFound("account", account_id)
            session.expunge(account)
            return account

    @activity.defn(name="charge_wallet_top_up")
    def charge(self, top_up: CardTopUp) -> TopUpCharged:
        """Charge the card (asking the gateway first on a retry); a decline refuses the top-up (402)."""
        with refusals_fail_the_process():
            try:
                gateway = self.gateways.get(top_up.gateway)
            except LookupError as err:
                raise RuleViolation("gateway_unknown", str(err), field="gateway") from err
            account = self._account(top_up.account_id)
            reference = charge_for_top_up(
                gateway,
                account,
                top_up.currency,
                top_up.amount_minor,
                top_up.payment_method_token,
                top_up.key,
            )
        return TopUpCharged(reference=reference, method=gateway.name)

    @activity.defn(name="credit_wallet_top_up")
    def credit(self, credit: TopUpCredit) -> TopUpCredited:
        """Credit the charged amount to the wallet, once per key."""
        top_up, charged = credit.top_up, credit.charged
        with refusals_fail_the_process(), unit_of_work(self.url) as session:
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

    def all(self) -> list[Any]:
        return [self.charge, self.credit]
