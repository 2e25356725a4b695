"""The database side of the wallet, voucher and SEPA gateways (integrations never import models).

``prepaid_gateways(settings)`` builds the three gateways over these stores for the gateway registry.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from activities.payments import sepa
from activities.wallets import vouchers
from activities.wallets.balances import Movement, WalletShort, by_key, find_wallet, move, wallet_for
from activities.wallets.prepaid import claim_low_balance_notice, send_low_balance_email
from domain.errors import RuleViolation
from domain.wallets import invoice_payment_entry, reversal
from integrations.notify.base import Notifier
from integrations.payments.base import ChargeRequest, PaymentGateway
from integrations.payments.sepa import SepaGateway, SepaRejected
from integrations.payments.voucher import VoucherDeclined, VoucherGateway
from integrations.payments.wallet import InsufficientFunds, WalletGateway
from models.accounts import Account
from models.base import unit_of_work
from models.wallets import Wallet, WalletTransaction
from runtime.settings import Settings


def _today() -> datetime:
    return datetime.now(UTC)


class SqlWalletStore:
    clearing = "wallet"  # the gateway whose clearing account an invoice payment credits

    def __init__(self, url: str, notifier: Notifier | None = None) -> None:
        self.url = url
        self.notifier = notifier

    def _pay(self, session: object, wallet: Wallet, *, key: str, amount_minor: int, reference: str) -> str:
        assert isinstance(session, Session)
        movement = Movement(
            "payment",
            -amount_minor,
            key,
            method="wallet",
            reference=reference,
            description=f"payment of {reference}",
        )
        postings = invoice_payment_entry(wallet.account_id, wallet.currency, amount_minor, self.clearing)
        try:
            tx, created = move(session, wallet, movement, postings, _today().date())
        except WalletShort as err:
            raise InsufficientFunds(err.message) from err
        if created and self.notifier is not None and claim_low_balance_notice(wallet):
            account = session.get(Account, wallet.account_id)
            assert account is not None
            send_low_balance_email(session, self.notifier, account, wallet, tx.id)
        return tx.id

    def pay(self, *, key: str, account_id: str, currency: str, amount_minor: int, reference: str) -> str:
        with unit_of_work(self.url) as session:
            done = by_key(session, key)
            if done is not None:
                return done.id
            try:
                wallet = find_wallet(session, account_id, currency, lock=True)
            except RuleViolation as err:
                raise InsufficientFunds(f"the account has no {currency} wallet") from err
            return self._pay(session, wallet, key=key, amount_minor=amount_minor, reference=reference)

    def find(self, key: str) -> str | None:
        with unit_of_work(self.url) as session:
            done = by_key(session, key)
            return None if done is None else done.id

    def give_back(self, *, key: str, transaction_id: str, amount_minor: int, currency: str) -> str:
        with unit_of_work(self.url) as session:
            done = by_key(session, key)
            if done is not None:
                return done.id
            paid = session.get(WalletTransaction, transaction_id)
            if paid is None or paid.kind != "payment":
                raise ValueError(f"{transaction_id} is not a wallet payment")
            refunded = session.execute(
                select(func.coalesce(func.sum(WalletTransaction.amount_minor), 0)).where(
                    WalletTransaction.kind == "refund", WalletTransaction.reference == paid.id
                )
            ).scalar_one()
            if refunded + amount_minor > -paid.amount_minor:
                raise ValueError(f"refund of {amount_minor} is more than is left of {paid.id}")
            wallet = session.get(Wallet, paid.wallet_id, with_for_update=True)
            assert wallet is not None and wallet.currency == currency
            postings = reversal(
                invoice_payment_entry(wallet.account_id, currency, amount_minor, self.clearing)
            )
            movement = Movement(
                "refund",
                amount_minor,
                key,
                method="wallet",
                reference=paid.id,
                description=f"refund of {paid.reference}",
            )
            return move(session, wallet, movement, postings, _today().date())[0].id


class SqlVoucherStore(SqlWalletStore):
    clearing = "voucher"

    def redeem_and_pay(
        self, *, key: str, code: str, account_id: str, currency: str, amount_minor: int, reference: str
    ) -> str:
        try:
            with unit_of_work(self.url) as session:
                done = by_key(session, key)
                if done is not None:
                    return done.id
                account = session.get(Account, account_id)
                if account is None:
                    raise VoucherDeclined("account_not_found", f"no account {account_id}")
                _, lot, _ = vouchers.redeem(
                    session, code=code, account=account, subscription_id=None, today=_today().date()
                )
                if lot.currency != currency:
                    raise VoucherDeclined(
                        "currency_mismatch", f"the voucher is in {lot.currency}, not {currency}"
                    )
                wallet = wallet_for(session, account, currency, lock=True)
                return self._pay(session, wallet, key=key, amount_minor=amount_minor, reference=reference)
        except InsufficientFunds as err:
            raise VoucherDeclined(
                "voucher_value_too_low", f"the voucher does not cover the amount: {err}"
            ) from err
        except RuleViolation as err:
            raise VoucherDeclined(err.code, err.message) from err


class SqlSepaStore:
    def __init__(self, url: str) -> None:
        self.url = url

    def enqueue(self, request: ChargeRequest) -> str:
        with unit_of_work(self.url) as session:
            return sepa.enqueue_debit(session, request).id

    def status(self, key: str) -> tuple[str, str, str | None] | None:
        with unit_of_work(self.url) as session:
            return sepa.debit_status(session, key)


__all__ = ["SepaRejected", "SqlSepaStore", "SqlVoucherStore", "SqlWalletStore", "prepaid_gateways"]


def prepaid_gateways(settings: Settings, notifier: Notifier | None = None) -> list[PaymentGateway]:
    """The wallet, voucher and SEPA gateways over the database, for the gateway registry."""
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set: the wallet, voucher and SEPA gateways need the database")
    url = settings.database_url
    return [
        WalletGateway(SqlWalletStore(url, notifier)),
        VoucherGateway(SqlVoucherStore(url, notifier)),
        SepaGateway(SqlSepaStore(url)),
    ]
