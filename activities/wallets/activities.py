"""Wallet activities for Temporal: the prepaid period debit (and its low-balance notice), and a card top-up
(the WalletTopUp process: charge the card, then credit the wallet, once per key; scripts in top_ups.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from temporalio import activity

from activities.shared.failures import refusals_fail_the_process
from activities.subscriptions import records as store
from activities.wallets import io, prepaid
from activities.wallets.balances import wallet_for
from activities.wallets.io import (
    CardTopUp,
    PrepaidDebit,
    PrepaidDebitResult,
    TopUpCharged,
    TopUpCredit,
    TopUpCredited,
)
from activities.wallets.top_ups import charge_card_top_up, credit_card_top_up
from integrations.notify.base import Notifier
from integrations.notify.smtp import SmtpNotifier
from integrations.payments.base import GatewayRegistry
from models.accounts import Account
from models.base import unit_of_work
from runtime.settings import Settings


class WalletActivities(io.WalletActivities):
    """Wallet activities for the workflows (sync: they run on the worker's thread pool)."""

    def __init__(self, settings: Settings, notifier: Notifier | None = None) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: wallet activities need the database")
        self.url = settings.database_url
        self.notifier: Notifier = notifier or SmtpNotifier(
            host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_sender
        )

    @activity.defn(name="debit_prepaid_period")
    def debit_prepaid_period(self, request: PrepaidDebit) -> PrepaidDebitResult:
        """Debit the wallet for the prepaid period containing ``on``, once per (subscription, period)."""
        with unit_of_work(self.url) as session:
            result = prepaid.debit_prepaid_period(session, request)
            if result.low_balance_notice and result.transaction_id:
                # Sent before the commit: a failed send retries the whole (idempotent) debit, and a
                # resend carries the same Message-ID.
                self.send_low_balance_notice(session, request.subscription_id, result.transaction_id)
        return result

    def send_low_balance_notice(self, session: Session, subscription_id: str, tx_id: str) -> None:
        sub = store.load(session, subscription_id)
        account = session.get(Account, sub.account_id)
        assert account is not None
        wallet = wallet_for(session, account, sub.currency)
        prepaid.send_low_balance_email(session, self.notifier, account, wallet, tx_id)

    def all(self) -> list[Any]:
        return [self.debit_prepaid_period]


class WalletTopUpActivities(io.WalletTopUpActivities):
    """The WalletTopUp process's activities, with the worker's payment gateways."""

    def __init__(self, settings: Settings, gateways: GatewayRegistry) -> None:
        self.url = settings.database_url or ""
        self.gateways = gateways

    @activity.defn(name="charge_wallet_top_up")
    def charge(self, top_up: CardTopUp) -> TopUpCharged:
        """Charge the card (asking the gateway first on a retry); a decline refuses the top-up (402)."""
        with refusals_fail_the_process():
            return charge_card_top_up(self.url, self.gateways, top_up)

    @activity.defn(name="credit_wallet_top_up")
    def credit(self, credit: TopUpCredit) -> TopUpCredited:
        """Credit the charged amount to the wallet, once per key."""
        with refusals_fail_the_process():
            return credit_card_top_up(self.url, credit)

    def all(self) -> list[Any]:
        return [self.charge, self.credit]


__all__ = ["WalletActivities", "WalletTopUpActivities"]
