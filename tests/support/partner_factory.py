"""Partner charges test support: an operator's connection to a provider (its secret sealed as the app
seals it), members (account, subscription, membership) inserted directly, a prepaid wallet's top-up, a
worker running NetflixChargeAcceptance on its own queue, and reads of what was billed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from temporalio.client import Client

from activities.partner_charges.activities import PartnerChargeActivities
from activities.partner_charges.sessions import PartnerRegistry
from activities.wallets.balances import Movement, move, wallet_for
from domain.ids import new_id
from domain.partners import secret_vault
from domain.wallets import top_up_entry
from models.accounts import Account
from models.base import unit_of_work
from models.partners import PartnerCharge, PartnerConnection, PartnerSubscription
from models.subscriptions import PendingCharge, Subscription
from models.wallets import Wallet, WalletTransaction
from runtime.settings import Settings
from runtime.worker import ACTIVITY_THREADS, build_worker
from tests.support.billing_factory import make_account


@dataclass(frozen=True)
class Member:
    account_id: str
    subscription_id: str
    membership_id: str

    @property
    def customer_id(self) -> str:
        return self.account_id


def make_connection(
    settings: Settings, organisation_id: str, provider: str, base_url: str, partner_id: str, secret: str
) -> str:
    """The operator's enabled connection to ``provider``; its id."""
    connection_id = new_id("pcon")
    sealed = secret_vault(settings.data_key).seal(secret, connection_id)
    with unit_of_work(settings.database_url or "") as session:
        session.add(
            PartnerConnection(
                id=connection_id,
                organisation_id=organisation_id,
                provider=provider,
                base_url=base_url,
                partner_id=partner_id,
                secret_sealed=sealed,
                enabled=True,
                options={},
            )
        )
    return connection_id


def make_member(
    database_url: str,
    organisation_id: str,
    provider: str,
    *,
    plan: str = "STANDARD",
    currency: str = "EUR",
    allowance_minor: int = 2000,
    included: bool = False,
    prepaid: bool = False,
    status: str = "active",
    subscription_status: str = "active",
) -> Member:
    """An account with a subscription and a membership at ``provider`` (customer id: the account id)."""
    account_id = make_account(database_url, organisation_id, currency=currency)
    sub_id, membership_id = new_id("sub"), new_id("psub")
    with unit_of_work(database_url) as session:
        session.add(
            Subscription(
                id=sub_id,
                organisation_id=organisation_id,
                account_id=account_id,
                request_id=uuid.uuid4().hex,
                status=subscription_status,
                currency=currency,
                timezone="Europe/Madrid",
                bill_day=1,
                billing_term="prepaid" if prepaid else "in_advance",
                start_date=date(2026, 1, 1),
                version=1,
            )
        )
        session.flush()
        session.add(
            PartnerSubscription(
                id=membership_id,
                organisation_id=organisation_id,
                account_id=account_id,
                subscription_id=sub_id,
                provider=provider,
                partner_plan=plan,
                partner_customer_id=account_id,
                status=status,
                allowance_minor=allowance_minor,
                currency=currency,
                included_in_price=included,
                activated_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    return Member(account_id, sub_id, membership_id)


def top_up(database_url: str, account_id: str, currency: str, amount_minor: int) -> None:
    with unit_of_work(database_url) as session:
        account = session.get(Account, account_id)
        assert account is not None
        wallet = wallet_for(session, account, currency, lock=True)
        movement = Movement("top_up", amount_minor, f"test-top-up:{uuid.uuid4().hex}", method="cash")
        move(
            session,
            wallet,
            movement,
            top_up_entry(account_id, currency, amount_minor, "cash"),
            date(2026, 3, 1),
        )


def charges_of(database_url: str, organisation_id: str, provider: str) -> dict[str, PartnerCharge]:
    """The operator's charges at ``provider`` by charge number (detached copies)."""
    with unit_of_work(database_url) as session:
        rows = session.execute(
            select(PartnerCharge).where(
                PartnerCharge.organisation_id == organisation_id, PartnerCharge.provider == provider
            )
        ).scalars()
        found = {r.charge_number: r for r in rows}
        session.expunge_all()
        return found


def pending_charges_of(database_url: str, account_id: str) -> list[tuple[str, int, str, str]]:
    """(kind, amount, currency, idempotency key) of the account's pending charges, by key."""
    with unit_of_work(database_url) as session:
        rows = session.execute(
            select(PendingCharge)
            .where(PendingCharge.account_id == account_id)
            .order_by(PendingCharge.idempotency_key)
        ).scalars()
        return [(r.kind, r.amount_minor, r.currency, r.idempotency_key) for r in rows]


def wallet_of(database_url: str, account_id: str, currency: str) -> tuple[int, list[tuple[str, int]]]:
    """The wallet's balance and its transactions (kind, amount) oldest first."""
    with unit_of_work(database_url) as session:
        wallet = session.execute(
            select(Wallet).where(Wallet.account_id == account_id, Wallet.currency == currency)
        ).scalar_one()
        txs = session.execute(
            select(WalletTransaction)
            .where(WalletTransaction.wallet_id == wallet.id)
            .order_by(WalletTransaction.id)
        ).scalars()
        return wallet.balance_minor, [(t.kind, t.amount_minor) for t in txs]


def membership_of(database_url: str, membership_id: str) -> tuple[str, str | None]:
    with unit_of_work(database_url) as session:
        row = session.get(PartnerSubscription, membership_id)
        assert row is not None
        return row.status, row.end_reason


@asynccontextmanager
async def acceptance_worker(
    client: Client,
    settings: Settings,
    registry: PartnerRegistry,
    activities: PartnerChargeActivities | None = None,
) -> AsyncIterator[Settings]:
    """A worker running NetflixChargeAcceptance on its own queue (``activities``: a test's subclass)."""
    queue = settings.model_copy(update={"task_queue": f"pch-{uuid.uuid4().hex[:8]}"})
    chosen: Any = activities or PartnerChargeActivities(queue, registry)
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
        async with build_worker(client, queue, activity_executor=pool, activities=chosen.all()):
            yield queue
