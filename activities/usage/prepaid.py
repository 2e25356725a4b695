"""Prepaid usage: what a wallet can still pay for (authorisation), and debiting rated usage as it arrives."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from activities.usage.context import SubscriptionContext
from activities.wallets.balances import Movement, WalletShort, move, wallet_for
from domain.catalog import PREPAID_TERMS
from domain.currency import minor_units
from domain.money import quantize, round_minor
from domain.periods import Period
from domain.wallets import service_debit_entry
from models.accounts import Account
from models.subscriptions import Subscription
from models.usage import RatedUsage
from models.wallets import Wallet


@dataclass(frozen=True)
class WalletFunds:
    """A prepaid subscriber may spend the wallet balance, less usage rated but not yet debited."""

    credit_limit: Decimal = Decimal(0)

    def available(self, session: Session, ctx: SubscriptionContext, period: Period) -> Decimal:
        sub = ctx.subscription
        balance = (
            session.execute(
                select(Wallet.balance_minor).where(
                    Wallet.account_id == sub.account_id, Wallet.currency == sub.currency
                )
            ).scalar_one_or_none()
            or 0
        )
        pending = session.execute(
            select(func.coalesce(func.sum(RatedUsage.amount), 0)).where(
                RatedUsage.subscription_id == sub.id, RatedUsage.status == "open"
            )
        ).scalar_one()
        wallet = Decimal(balance).scaleb(-minor_units(sub.currency))
        return max(Decimal(0), wallet + self.credit_limit - Decimal(pending))


def is_prepaid(session: Session, subscription_id: str) -> bool:
    term = session.execute(
        select(Subscription.billing_term).where(Subscription.id == subscription_id)
    ).scalar()
    return term in PREPAID_TERMS


def debit_rated_usage(session: Session, subscription_id: str) -> int:
    """Debit the wallet for a prepaid subscription's open rated usage, rounded once; returns minor units.

    Idempotent by the set of usage rows; if the wallet cannot pay, nothing moves and the usage stays
    open (the renewal suspends an unfunded subscription; authorisation keeps this rare).
    """
    sub = session.get(Subscription, subscription_id)
    if sub is None or sub.billing_term not in PREPAID_TERMS:
        return 0
    rows = session.execute(
        select(RatedUsage.id, RatedUsage.amount)
        .where(
            RatedUsage.subscription_id == sub.id,
            RatedUsage.status == "open",
            RatedUsage.currency == sub.currency,
        )
        .order_by(RatedUsage.id)
    ).all()
    if not rows:
        return 0
    total = sum((Decimal(amount) for _, amount in rows), Decimal(0))
    amount_minor = round_minor(quantize(total, 10), sub.currency)
    ids = [row_id for row_id, _ in rows]
    key = "usage:" + hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:32]
    account = session.get(Account, sub.account_id)
    assert account is not None
    if amount_minor > 0:
        wallet = wallet_for(session, account, sub.currency, lock=True)
        movement = Movement(
            "service_debit",
            -amount_minor,
            key,
            reference=sub.id,
            description=f"usage: {len(ids)} rated events",
            subscription_id=sub.id,
        )
        try:
            with session.begin_nested():
                move(
                    session,
                    wallet,
                    movement,
                    service_debit_entry(account.id, sub.currency, {"usage": amount_minor}),
                    datetime.now(UTC).date(),
                )
        except WalletShort:
            return 0
    session.execute(update(RatedUsage).where(RatedUsage.id.in_(ids)).values(status="invoiced"))
    return amount_minor
