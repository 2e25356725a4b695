"""eWallet operations: top-ups (card through a gateway, cash, voucher), prepaid period debits, the
low-balance notice, and the prepaid subscriptions a wallet cannot pay for next period.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio import activity

from activities.subscriptions import records as store
from activities.wallets.balances import Movement, WalletShort, by_key, check_currency, move, wallet_for
from domain.catalog import BillingTerm
from domain.errors import RuleViolation
from domain.periods import Period
from domain.subscriptions import period_on, price_on
from domain.wallets import service_debit_entry, suspend_at_period_end, top_up_entry
from integrations.notify.base import EmailMessageSpec, Notifier
from integrations.notify.smtp import SmtpNotifier
from integrations.payments.base import ChargeRequest, ChargeStatus, PaymentGateway
from models.accounts import Account
from models.base import unit_of_work
from models.subscriptions import PendingCharge, Subscription
from models.wallets import Wallet, WalletTransaction
from runtime.settings import Settings


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


def prepaid_period(
    session: Session, sub: Subscription, on: date, statuses: tuple[str, ...] = ("active",)
) -> tuple[Period | None, dict[str, int]]:
    """The period of ``sub`` containing ``on`` and its price per product kind (live services only)."""
    period: Period | None = None
    prices: dict[str, int] = {}
    for service in store.services(session, sub.id, statuses):
        terms = store.terms_of(session, sub, service)
        service_period = period_on(terms, on)
        period = period or service_period
        amount = price_on(terms, period.start).amount_minor
        if amount:
            prices[service.product_kind] = prices.get(service.product_kind, 0) + amount
    return period, prices


def pending_fees(session: Session, subscription_id: str) -> list[PendingCharge]:
    return list(
        session.execute(
            select(PendingCharge)
            .where(
                PendingCharge.subscription_id == subscription_id,
                PendingCharge.status == "pending",
                PendingCharge.amount_minor > 0,
            )
            .order_by(PendingCharge.id)
            .with_for_update()
        ).scalars()
    )


def debit_prepaid_period(session: Session, request: PrepaidDebit) -> PrepaidDebitResult:
    """Debit the wallet for the period containing ``on``: once per (subscription, period start)."""
    sub = store.load(session, request.subscription_id)
    base: dict[str, Any] = {"subscription_id": sub.id, "currency": sub.currency}
    statuses = (
        ("active",)
        + (("pending",) if request.include_pending else ())
        + (("suspended",) if request.include_suspended else ())
    )
    period, prices = prepaid_period(session, sub, request.on, statuses)
    fees = pending_fees(session, sub.id) if request.include_pending else []
    for fee in fees:  # activation fees of a prepaid plan are paid from the wallet with the first period
        prices[f"fee:{fee.kind}"] = prices.get(f"fee:{fee.kind}", 0) + fee.amount_minor
    if period is None or not prices:
        return PrepaidDebitResult(status="nothing_due", **base)
    base.update(period_start=period.start, period_end=period.end, amount_minor=sum(prices.values()))
    account = session.get(Account, sub.account_id)
    assert account is not None
    wallet = wallet_for(session, account, sub.currency, lock=True)
    key = f"prepaid:{sub.id}:{period.start.isoformat()}"
    done = by_key(session, key)
    if done is not None:
        return PrepaidDebitResult(
            status="already_debited", transaction_id=done.id, balance_minor=wallet.balance_minor, **base
        )
    movement = Movement(
        "service_debit",
        -base["amount_minor"],
        key,
        reference=sub.id,
        description=f"prepaid service {period.start} to {period.end}",
        subscription_id=sub.id,
        period=(period.start, period.end),
    )
    postings = service_debit_entry(account.id, sub.currency, prices)
    try:
        tx, _ = move(session, wallet, movement, postings, period.start)
    except WalletShort:  # raised before anything is written
        return PrepaidDebitResult(status="insufficient_funds", balance_minor=wallet.balance_minor, **base)
    for fee in fees:
        fee.status, fee.invoice_id = "invoiced", tx.id
    notice = claim_low_balance_notice(wallet)
    return PrepaidDebitResult(
        status="debited",
        transaction_id=tx.id,
        balance_minor=wallet.balance_minor,
        low_balance_notice=notice,
        **base,
    )


def claim_low_balance_notice(wallet: Wallet) -> bool:
    """True once per fall below the threshold (the flag resets when a credit lifts the balance)."""
    if wallet.low_balance_threshold_minor <= 0 or wallet.low_balance_notified:
        return False
    if wallet.balance_minor >= wallet.low_balance_threshold_minor:
        return False
    wallet.low_balance_notified = True
    return True


def low_balance_email(account: Account, wallet: Wallet, tx_id: str) -> EmailMessageSpec:
    amount = f"{wallet.balance_minor} {wallet.currency} (minor units)"
    return EmailMessageSpec(
        to=account.email,
        subject=f"Your {wallet.currency} wallet balance is low",
        text=(
            f"Hello {account.display_name},\n\nYour wallet balance is {amount}, below your alert "
            f"level of {wallet.low_balance_threshold_minor}. Top up to keep your prepaid services "
            "running: a service your wallet cannot pay is suspended at the end of its period.\n"
        ),
        message_id=f"<low-balance.{tx_id}@multibill.local>",
    )


class Unfunded(BaseModel):
    subscription_id: str
    account_id: str
    currency: str
    next_period_start: date
    price_minor: int
    balance_minor: int


def unfunded_prepaid(session: Session, organisation_path: str, on: date) -> list[Unfunded]:
    """Active prepaid subscriptions whose wallet cannot pay the period after the one containing ``on``."""
    from models.organisations import Organisation

    subs = session.execute(
        select(Subscription)
        .join(Organisation, Organisation.id == Subscription.organisation_id)
        .where(
            Subscription.status == "active",
            Subscription.billing_term == BillingTerm.PREPAID.value,
            Organisation.path.startswith(organisation_path, autoescape=True),
        )
        .order_by(Subscription.id)
    ).scalars()
    found = []
    for sub in subs:
        current, _ = prepaid_period(session, sub, on)
        if current is None:
            continue
        upcoming, prices = prepaid_period(session, sub, current.end)
        price = sum(prices.values())
        balance = (
            session.execute(
                select(Wallet.balance_minor).where(
                    Wallet.account_id == sub.account_id, Wallet.currency == sub.currency
                )
            ).scalar_one_or_none()
            or 0
        )
        if upcoming is not None and suspend_at_period_end(balance, price):
            found.append(
                Unfunded(
                    subscription_id=sub.id,
                    account_id=sub.account_id,
                    currency=sub.currency,
                    next_period_start=upcoming.start,
                    price_minor=price,
                    balance_minor=balance,
                )
            )
    return found


class WalletActivities:
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
        with unit_of_work(self.url) as session:
            result = debit_prepaid_period(session, request)
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
        self.notifier.send_email(low_balance_email(account, wallet, tx_id))

    def all(self) -> list[Any]:
        return [self.debit_prepaid_period]
