"""Caps and stacking under concurrent accepts by ONE account, each accept in its own transaction: the
per-account cap holds on the offer's row lock, and of two exclusive offers accepted at once exactly one is
taken (accepting locks the account itself, whatever the caller did); the losers get the reason, nothing
half-written."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from activities.offers.redemptions import AcceptRequest, accept
from domain.errors import Conflict
from domain.ids import new_id
from models.accounts import Account
from models.base import unit_of_work
from models.offers import Offer, OfferRedemption
from models.wallets import Wallet
from tests.support.billing_factory import make_account
from tests.support.factories import Tenant
from tests.support.loyalty_support import customer

TODAY = date(2026, 6, 17)
pytestmark = [pytest.mark.calendar, pytest.mark.today(f"{TODAY}T12:00:00+00:00")]


def wallet_offer(url: str, operator_id: str, **extra: Any) -> str:
    fields: dict[str, Any] = {
        "id": new_id("off"), "organisation_id": operator_id, "code": f"c-{uuid.uuid4().hex[:6]}",
        "name": "bonus", "kind": "wallet_credit", "status": "active", "currency": "EUR", "value_minor": 100,
        "segment_ids": [], "channels": [], "grant_only": False, "starts_on": date(2026, 1, 1),
        "total_cap": None, "per_account_cap": None, "redeemed_count": 0, "stacking": "stackable",
        "estimated_cost_minor": 100, "cost_to_date_minor": 0, "created_by": "test",
    }  # fmt: skip
    fields.update(extra)
    with unit_of_work(url) as session:
        session.add(Offer(**fields))
    return str(fields["id"])


def race(
    url: str, account_id: str, offer_ids: list[str], *, lock_account: bool
) -> tuple[list[str], Counter[str]]:
    """Every offer id accepted at once by the account (one thread each): (offers won, refusal codes)."""
    barrier = threading.Barrier(len(offer_ids))
    won: list[str] = []
    refused: Counter[str] = Counter()

    def attempt(offer_id: str) -> None:
        barrier.wait()
        try:
            with unit_of_work(url) as session:
                account = session.get(Account, account_id, with_for_update=lock_account)
                assert account is not None
                accept(session, account, offer_id, AcceptRequest(), uuid.uuid4().hex, "test")
                won.append(offer_id)
        except Conflict as exc:
            refused[exc.code] += 1

    threads = [threading.Thread(target=attempt, args=(o,)) for o in offer_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won, refused


def redemptions(url: str, account_id: str) -> int:
    with unit_of_work(url) as session:
        stmt = select(func.count()).where(OfferRedemption.account_id == account_id)
        return int(session.execute(stmt).scalar_one())


def wallet_balance(url: str, account_id: str) -> int:
    with unit_of_work(url) as session:
        stmt = select(func.coalesce(func.sum(Wallet.balance_minor), 0)).where(Wallet.account_id == account_id)
        return int(session.execute(stmt).scalar_one())


def test_the_per_account_cap_holds_under_concurrent_accepts(database_url: str, operator: Tenant) -> None:
    offer_id = wallet_offer(database_url, operator.organisation_id, per_account_cap=2, total_cap=50)
    account_id = make_account(database_url, operator.organisation_id)
    won, refused = race(database_url, account_id, [offer_id] * 8, lock_account=False)
    assert (len(won), dict(refused)) == (2, {"account_cap_reached": 6})
    assert redemptions(database_url, account_id) == 2
    assert wallet_balance(database_url, account_id) == 200
    with unit_of_work(database_url) as session:
        offer = session.get(Offer, offer_id)
        assert offer is not None and (offer.redeemed_count, offer.cost_to_date_minor) == (2, 200)


def test_of_two_exclusive_discounts_accepted_at_once_one_is_taken(
    database_url: str, operator: Tenant
) -> None:
    org = operator.organisation_id
    account_id = customer(database_url, org, since=date(2026, 1, 1), kinds=("video",)).account_id
    terms = {"kind": "discount", "value_minor": None, "plan_code": "plan-video", "percent": 10, "periods": 3}
    one = wallet_offer(database_url, org, stacking="exclusive", **terms)
    two = wallet_offer(database_url, org, stacking="exclusive", **terms)
    won, refused = race(database_url, account_id, [one, two, one, two], lock_account=False)
    assert (len(won), dict(refused)) == (1, {"not_stackable": 3})
    assert redemptions(database_url, account_id) == 1
    with unit_of_work(database_url) as session:
        counts = {
            o.id: o.redeemed_count
            for o in session.execute(select(Offer).where(Offer.id.in_([one, two]))).scalars()
        }
    assert sorted(counts.values()) == [0, 1] and counts[won[0]] == 1
