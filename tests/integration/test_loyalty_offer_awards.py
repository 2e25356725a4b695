"""A loyalty award of kind "offer" grants the operator's offer through the offers area: exactly once per
(rule, account, period) however often the period is run or the grant retried, the granted account (only)
may then accept the offer, and an offer code the operator does not have leaves the award skipped."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa

from activities.loyalty import offers as loyalty_offers
from activities.loyalty import runs
from activities.offers.eligibility import eligible_offers
from activities.offers.redemptions import AcceptRequest, accept
from domain.errors import Conflict
from domain.ids import new_id
from models.accounts import Account
from models.base import unit_of_work
from models.loyalty import LoyaltyRun
from models.offers import Offer, OfferGrant
from tests.support.factories import make_operator
from tests.support.loyalty_support import award_period, awarded, customer, programme, rule, scalar

TODAY = date(2026, 6, 17)
pytestmark = [pytest.mark.calendar, pytest.mark.today(f"{TODAY}T12:00:00+00:00")]
LOYAL = {"criterion": {"kind": "maturity", "months_active": 12}, "award": {"kind": "offer", "offer_code": ""}}


def grant_only_offer(url: str, operator_id: str) -> tuple[str, str]:
    """A wallet credit offer open only to accounts it is granted to: (id, code)."""
    code = f"loyal-{uuid.uuid4().hex[:6]}"
    with unit_of_work(url) as session:
        offer = Offer(
            id=new_id("off"), organisation_id=operator_id, code=code, name="loyal", kind="wallet_credit",
            status="active", currency="EUR", value_minor=300, segment_ids=[], channels=[], grant_only=True,
            starts_on=date(2026, 1, 1), total_cap=None, per_account_cap=None, redeemed_count=0,
            stacking="stackable", estimated_cost_minor=300, cost_to_date_minor=0, created_by="test",
        )  # fmt: skip
        session.add(offer)
        return offer.id, code


def grants(url: str, offer_id: str) -> list[tuple[str, str]]:
    """(account, key) of every grant of the offer."""
    with unit_of_work(url) as session:
        rows = session.execute(
            sa.select(OfferGrant.account_id, OfferGrant.idempotency_key).where(
                OfferGrant.offer_id == offer_id
            )
        ).all()
    return sorted((a, k) for a, k in rows)


def award_ids(url: str, account_id: str) -> dict[str, str]:
    """period → award id of the account's offer awards."""
    with unit_of_work(url) as session:
        rows = session.execute(
            sa.text("select period_key, id from loyalty_awards where account_id = :a and kind = 'offer'"),
            {"a": account_id},
        ).all()
    return {period: award_id for period, award_id in rows}


def test_an_offer_award_grants_the_offer_once_per_rule_account_and_period(database_url: str) -> None:
    url = database_url
    x = make_operator(url).organisation_id
    loyal = customer(url, x, since=date(2025, 1, 15)).account_id  # 14 months active in 2026-03
    fresh = customer(url, x, since=date(2026, 1, 1)).account_id  # 2 months: not yet
    programme(url, x)
    offer_id, code = grant_only_offer(url, x)
    rule(url, x, "loyal", {**LOYAL, "award": {"kind": "offer", "offer_code": code}})
    rule(url, x, "gone", {**LOYAL, "award": {"kind": "offer", "offer_code": "no-such-offer"}})

    run_id = award_period(url, x)
    assert awarded(url, x) == {
        ("loyal", loyal): ("offer", 0, None, "applied"),
        ("gone", loyal): ("offer", 0, None, "skipped"),  # a code the operator does not have
    }
    with unit_of_work(url) as session:
        run = session.get(LoyaltyRun, run_id)
        assert run is not None
        counted = {r.code: (r.kind, r.awards, r.applied) for r in runs.report(session, run).rules}
    assert counted == {"gone": ("offer", 1, 0), "loyal": ("offer", 1, 1)}  # the skipped one is not applied
    first = award_ids(url, loyal)
    assert set(first) == {"2026-03"}
    loyal_award = scalar(
        url,
        "select a.id from loyalty_awards a join loyalty_rules r on r.id = a.rule_id"
        " where a.account_id = :a and r.code = 'loyal'",
        a=loyal,
    )
    assert grants(url, offer_id) == [(loyal, f"loyalty:{loyal_award}")]

    # the same period again, and a retried grant of the same award: still one grant
    assert award_period(url, x) == run_id
    with unit_of_work(url) as session:
        again = loyalty_offers.grant_offer(session, x, code, loyal, f"loyalty:{loyal_award}")
    assert grants(url, offer_id) == [(loyal, f"loyalty:{loyal_award}")]
    assert scalar(url, "select id from offer_grants where offer_id = :o", o=offer_id) == again
    told = (
        "select count(*) from business_events where type = 'loyalty.awarded'"
        " and data->>'kind' = 'offer' and data->>'offer_code' = :c"
    )
    assert scalar(url, told, c=code) == 1

    # the granted account may take the offer; the other is not eligible
    with unit_of_work(url) as session:
        account = session.get(Account, loyal, with_for_update=True)
        assert account is not None
        assert [v.offer.id for v in eligible_offers(session, account, TODAY, "care")] == [offer_id]
        done = accept(session, account, offer_id, AcceptRequest(), "accept-loyal", "test")
        assert (done.redemption.status, done.redemption.cost_minor) == ("completed", 300)
    with unit_of_work(url) as session:
        other = session.get(Account, fresh, with_for_update=True)
        assert other is not None
        assert eligible_offers(session, other, TODAY, "care") == []
        with pytest.raises(Conflict) as refused:
            accept(session, other, offer_id, AcceptRequest(), "accept-fresh", "test")
    assert refused.value.code == "account_not_eligible"

    # the next period is another award, so another grant
    award_period(url, x, "2026-04", date(2026, 5, 1))
    second = award_ids(url, loyal)
    assert set(second) == {"2026-03", "2026-04"}
    keys = [key for _, key in grants(url, offer_id)]
    assert len(keys) == 2 and len(set(keys)) == 2
    assert all(account == loyal for account, _ in grants(url, offer_id))
