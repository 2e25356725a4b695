"""Wallet balances and movements: every change locks the wallet row, appends a transaction with an
idempotency key and posts a balanced ledger entry, all in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from activities.events.outbox import record_many
from activities.events.snapshots import account_organisation, wallet_data
from activities.shared.ledger import post_entry
from activities.shared.pagination import fetch_page
from domain.currency import MINOR_UNITS
from domain.errors import NotFound, RuleViolation
from domain.events import BusinessEvent
from domain.ids import new_id
from domain.ledger import Posting
from domain.wallets import apply_debit
from models.accounts import Account
from models.subscriptions import Subscription
from models.wallets import Wallet, WalletTransaction


class WalletShort(RuleViolation):
    """The wallet cannot pay this amount (no overdraft); nothing moved."""

    status = 402


@dataclass(frozen=True)
class Movement:
    kind: str  # top_up | service_debit | payment | refund | reversal
    amount_minor: int  # > 0 credits the wallet, < 0 debits it
    key: str
    method: str | None = None
    reference: str | None = None
    description: str | None = None
    subscription_id: str | None = None
    period: tuple[date, date] | None = None


def wallet_currencies(session: Session, account: Account) -> set[str]:
    """A wallet may hold the account's currency or the currency of one of its subscriptions."""
    subs = session.execute(select(Subscription.currency).where(Subscription.account_id == account.id))
    return {account.currency, *subs.scalars()}


def check_currency(session: Session, account: Account, currency: str, *, field: str = "currency") -> None:
    if currency not in MINOR_UNITS:
        raise RuleViolation("currency_unknown", f"{currency!r} is not an ISO 4217 currency", field=field)
    allowed = wallet_currencies(session, account)
    if currency not in allowed:
        raise RuleViolation(
            "currency_mismatch",
            f"account {account.id} is billed in {', '.join(sorted(allowed))}, not {currency}",
            field=field,
        )


def wallet_for(session: Session, account: Account, currency: str, *, lock: bool = False) -> Wallet:
    """The account's wallet in ``currency`` (created empty on first use)."""
    session.execute(
        insert(Wallet)
        .values(
            id=new_id("wal"),
            organisation_id=account.organisation_id,
            account_id=account.id,
            currency=currency,
            balance_minor=0,
            low_balance_threshold_minor=0,
            low_balance_notified=False,
        )
        .on_conflict_do_nothing(constraint="uq_wallets_account_currency")
    )
    stmt = select(Wallet).where(Wallet.account_id == account.id, Wallet.currency == currency)
    if lock:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one()


def find_wallet(session: Session, account_id: str, currency: str, *, lock: bool = False) -> Wallet:
    stmt = select(Wallet).where(Wallet.account_id == account_id, Wallet.currency == currency)
    if lock:
        stmt = stmt.with_for_update()
    wallet = session.execute(stmt).scalar_one_or_none()
    if wallet is None:
        raise NotFound("wallet", f"{account_id}/{currency}")
    return wallet


def by_key(session: Session, key: str) -> WalletTransaction | None:
    return session.execute(
        select(WalletTransaction).where(WalletTransaction.idempotency_key == key)
    ).scalar_one_or_none()


def move(
    session: Session, wallet: Wallet, movement: Movement, postings: list[Posting], booked_on: date
) -> tuple[WalletTransaction, bool]:
    """Apply ``movement`` once per key (the wallet must be locked). Returns (transaction, created)."""
    existing = by_key(session, movement.key)
    if existing is not None:
        return existing, False
    if movement.amount_minor < 0:
        after = apply_debit(wallet.balance_minor, -movement.amount_minor)
        if after is None:
            raise WalletShort(
                "insufficient_funds",
                f"the {wallet.currency} wallet holds {wallet.balance_minor}, "
                f"less than the {-movement.amount_minor} asked for",
            )
    else:
        after = wallet.balance_minor + movement.amount_minor
    tx_id = new_id("wtx")
    entry_id = post_entry(
        session,
        organisation_id=wallet.organisation_id,
        customer_id=wallet.account_id,
        kind="wallet",
        source_id=tx_id,
        currency=wallet.currency,
        booked_on=booked_on,
        postings=postings,
        key=f"wallet:{movement.key}",
        memo=movement.description,
    )
    tx = WalletTransaction(
        id=tx_id,
        wallet_id=wallet.id,
        kind=movement.kind,
        amount_minor=movement.amount_minor,
        balance_after_minor=after,
        method=movement.method,
        reference=movement.reference,
        subscription_id=movement.subscription_id,
        period_start=movement.period[0] if movement.period else None,
        period_end=movement.period[1] if movement.period else None,
        description=movement.description,
        ledger_entry_id=entry_id,
        idempotency_key=movement.key,
    )
    session.add(tx)
    before, wallet.balance_minor = wallet.balance_minor, after
    if after >= wallet.low_balance_threshold_minor:
        wallet.low_balance_notified = False
    session.flush()
    _record_events(session, wallet, tx, before)
    return tx, True


def _record_events(session: Session, wallet: Wallet, tx: WalletTransaction, before: int) -> None:
    """``wallet.topped_up`` for money in; ``wallet.low_balance`` when a movement takes the balance from at
    or above the wallet's alert level to below it (once per fall)."""
    threshold = wallet.low_balance_threshold_minor
    fell = threshold > 0 and before >= threshold > wallet.balance_minor
    types = (["wallet.topped_up"] if tx.kind == "top_up" else []) + (["wallet.low_balance"] if fell else [])
    if not types:
        return
    org = account_organisation(session, wallet.account_id)
    data = {**wallet_data(wallet), "transaction_id": tx.id, "amount_minor": tx.amount_minor}
    record_many(session, [BusinessEvent(t, org, "wallet", wallet.id, data) for t in types])


def history(
    session: Session, wallet: Wallet, *, after: str | None, limit: int
) -> tuple[list[WalletTransaction], str | None]:
    """Newest first, ``limit`` per page; the cursor is the last transaction id of the page."""
    stmt = select(WalletTransaction).where(WalletTransaction.wallet_id == wallet.id)
    if after:
        stmt = stmt.where(WalletTransaction.id < after)
    rows, more = fetch_page(session, stmt.order_by(WalletTransaction.id.desc()), limit)
    return rows, rows[-1].id if more and rows else None
