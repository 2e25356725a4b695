"""Prepaid period debits from the eWallet, the low-balance notice, and the prepaid subscriptions a
wallet cannot pay for next period.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.events.snapshots import wallet_data
from activities.notifications import direct
from activities.notifications.templates import Parts
from activities.subscriptions import records as store
from activities.wallets.balances import Movement, WalletShort, by_key, move, wallet_for
from activities.wallets.io import PrepaidDebit, PrepaidDebitResult
from domain.catalog import BillingTerm
from domain.periods import Period
from domain.subscriptions import period_on, price_on
from domain.wallets import service_debit_entry, suspend_at_period_end
from integrations.notify.base import EmailMessageSpec, Notifier
from models.accounts import Account
from models.organisations import Organisation
from models.subscriptions import PendingCharge, Subscription
from models.wallets import Wallet


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


def low_balance_email(
    session: Session, account: Account, wallet: Wallet, tx_id: str
) -> EmailMessageSpec | None:
    """The low-balance alert through the notifications engine (the operator's ``wallet.low_balance``
    template, else this text; logged; None when the subscriber refused email)."""
    amount = f"{wallet.balance_minor} {wallet.currency} (minor units)"
    default = Parts(
        f"Your {wallet.currency} wallet balance is low",
        (
            f"Hello {account.display_name},\n\nYour wallet balance is {amount}, below your alert "
            f"level of {wallet.low_balance_threshold_minor}. Top up to keep your prepaid services "
            "running: a service your wallet cannot pay is suspended at the end of its period.\n"
        ),
    )
    return direct.prepare_email(
        session,
        account_id=account.id,
        kind="wallet.low_balance",
        data=wallet_data(wallet),
        to=account.email,
        message_id=f"<low-balance.{tx_id}@multibill.local>",
        default=default,
    )


def send_low_balance_email(
    session: Session, notifier: Notifier, account: Account, wallet: Wallet, tx_id: str
) -> None:
    """Send the alert in the caller's transaction (before its commit: a failed send retries the whole
    idempotent step, with the same Message-ID) and log it sent."""
    message = low_balance_email(session, account, wallet, tx_id)
    if message is None:
        return
    notifier.send_email(message)
    direct.record_sent(session, kind="wallet.low_balance", to=message.to, message_id=message.message_id)


class Unfunded(BaseModel):
    subscription_id: str
    account_id: str
    currency: str
    next_period_start: date
    price_minor: int
    balance_minor: int


def unfunded_prepaid(session: Session, organisation_path: str, on: date) -> list[Unfunded]:
    """Active prepaid subscriptions whose wallet cannot pay the period after the one containing ``on``."""
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
