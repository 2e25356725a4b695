"""Targeted offers through the API on PostgreSQL: the operator's offers with costs and counts, the offers
an account may accept (segments, grants, channels, dates), accepting each kind that needs no process
(wallet credit as a balanced marketing-expense entry, a voucher issued once, a discount recorded for the
bill runs), the 409 reasons, stacking, the caps under concurrent accepts, and quotes showing offers."""

from __future__ import annotations

import threading
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from activities.offers.grants import grant_offer
from activities.offers.redemptions import AcceptRequest, accept
from domain.errors import Conflict
from domain.ids import new_id
from models.accounts import Account
from models.base import unit_of_work
from models.events import EventRecord
from models.offers import Offer, OfferRedemption
from models.segments import Segment, SegmentMember
from tests.support.billing_factory import make_account
from tests.support.catalog_factory import plan
from tests.support.factories import Tenant, make_operator
from tests.support.usage_factory import subscription
from tests.support.wallet_support import entries_for, postings_of

TODAY = date(2026, 6, 17)
pytestmark = [pytest.mark.calendar, pytest.mark.today(f"{TODAY}T12:00:00+00:00")]


def offer_body(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": f"o-{uuid.uuid4().hex[:8]}",
        "name": "Summer bonus",
        "kind": "wallet_credit",
        "currency": "EUR",
        "value_minor": 1000,
        "starts_on": "2026-06-01",
        "ends_on": "2026-06-30",
    }
    return {**body, **extra}


async def make_offer(api: httpx.AsyncClient, tenant: Tenant, **extra: Any) -> dict[str, Any]:
    resp = await api.post("/v1/offers", json=offer_body(**extra), headers=tenant.post_headers())
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def take(
    api: httpx.AsyncClient,
    tenant: Tenant,
    account_id: str,
    offer_id: str,
    key: str | None = None,
    **body: Any,
) -> httpx.Response:
    return await api.post(
        f"/v1/accounts/{account_id}/offers/{offer_id}/accept", json=body, headers=tenant.post_headers(key)
    )


def segment(database_url: str, tenant: Tenant, *members: str) -> str:
    with unit_of_work(database_url) as session:
        seg = Segment(
            id=new_id("seg"),
            organisation_id=tenant.organisation_id,
            code=uuid.uuid4().hex[:10],
            name="s",
            rules={},
        )
        session.add(seg)
        session.flush()
        session.add_all(SegmentMember(segment_id=seg.id, account_id=a) for a in members)
        return seg.id


async def test_wallet_credit_is_a_balanced_marketing_expense_once_per_key(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    offer = await make_offer(api, operator, total_cap=10)
    assert (offer["estimated_cost_minor"], offer["redeemed_count"], offer["status"]) == (1000, 0, "active")
    acc = make_account(database_url, operator.organisation_id)
    listed = await api.get(f"/v1/accounts/{acc}/offers", headers=operator.auth)
    assert offer["id"] in [o["id"] for o in listed.json()["data"]]
    key = uuid.uuid4().hex
    first = await take(api, operator, acc, offer["id"], key)
    assert first.status_code == 201, first.text
    again = await take(api, operator, acc, offer["id"], key)
    assert again.json()["id"] == first.json()["id"]
    red = first.json()
    assert (red["status"], red["cost_minor"], red["offer_code"]) == ("completed", 1000, offer["code"])
    wallets = await api.get(f"/v1/accounts/{acc}/wallets", headers=operator.auth)
    assert [w["balance_minor"] for w in wallets.json()["data"]] == [1000]
    (entry,) = entries_for(database_url, acc)
    assert postings_of(database_url, entry.id) == [
        ("expense:marketing", None, 1000, 0),
        ("wallet", acc, 0, 1000),
    ]
    detail = (await api.get(f"/v1/offers/{offer['id']}", headers=operator.auth)).json()
    assert (detail["redeemed_count"], detail["cost_to_date_minor"], detail["estimated_total_cost_minor"]) == (
        1,
        1000,
        1000,
    )
    assert detail["redemptions"] == {"active": 0, "completed": 1}
    with unit_of_work(database_url) as session:
        types = session.execute(select(EventRecord.type).where(EventRecord.object_id == red["id"])).scalars()
        assert list(types) == ["offer.redeemed"]
    # per account: once (the default cap); a second key is refused with the reason
    second = await take(api, operator, acc, offer["id"])
    assert (second.status_code, second.json()["code"]) == (409, "account_cap_reached")
    listed = await api.get(f"/v1/accounts/{acc}/offers", headers=operator.auth)
    assert offer["id"] not in [o["id"] for o in listed.json()["data"]]


async def test_a_voucher_offer_issues_one_code_shown_once_that_redeems(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    offer = await make_offer(api, operator, kind="voucher", value_minor=500)
    acc = make_account(database_url, operator.organisation_id)
    key = uuid.uuid4().hex
    first = await take(api, operator, acc, offer["id"], key, channel="web")
    assert first.status_code == 201, first.text
    code = first.json()["voucher_code"]
    assert len(code) == 19 and first.json()["voucher_id"]
    replay = await take(api, operator, acc, offer["id"], key, channel="web")
    assert (replay.json()["id"], replay.json()["voucher_code"]) == (first.json()["id"], None)
    redeemed = await api.post(
        "/v1/vouchers/redeem", json={"code": code, "account_id": acc}, headers=operator.post_headers()
    )
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["wallet"]["balance_minor"] == 500


async def test_refusals_name_the_reason(api: httpx.AsyncClient, operator: Tenant, database_url: str) -> None:
    acc = make_account(database_url, operator.organisation_id)
    inside = make_account(database_url, operator.organisation_id)
    seg = segment(database_url, operator, inside)
    targeted = await make_offer(api, operator, segment_ids=[seg])
    assert (await take(api, operator, acc, targeted["id"])).json()["code"] == "account_not_eligible"
    ok = await take(api, operator, inside, targeted["id"])
    assert ok.status_code == 201, ok.text
    ended = await make_offer(api, operator, starts_on="2026-05-01", ends_on="2026-06-16")
    refused = await take(api, operator, acc, ended["id"])
    assert (refused.status_code, refused.json()["code"]) == (409, "offer_ended")
    later = await make_offer(api, operator, starts_on="2026-07-01", ends_on=None)
    assert (await take(api, operator, acc, later["id"])).json()["code"] == "offer_not_started"
    web = await make_offer(api, operator, channels=["web"])
    assert (await take(api, operator, acc, web["id"], channel="store")).json()[
        "code"
    ] == "channel_not_eligible"
    capped = await make_offer(api, operator, total_cap=1)
    assert (await take(api, operator, inside, capped["id"])).status_code == 201
    beyond = await take(api, operator, acc, capped["id"])
    assert (beyond.status_code, beyond.json()["code"]) == (409, "offer_cap_reached")
    paused = await make_offer(api, operator)
    moved = await api.post(f"/v1/offers/{paused['id']}/pause", headers=operator.post_headers())
    assert moved.json()["status"] == "paused"
    assert (await take(api, operator, acc, paused["id"])).json()["code"] == "offer_paused"
    tv = await plan(api, operator, prices={"EUR": "15.00"})
    discount = await make_offer(
        api, operator, kind="discount", value_minor=None, plan_code=tv, percent="10", periods=1
    )
    assert (await take(api, operator, acc, discount["id"])).json()["code"] == "plan_not_subscribed"
    listed = await api.get(f"/v1/accounts/{acc}/offers", headers=operator.auth)
    assert discount["id"] not in [o["id"] for o in listed.json()["data"]]  # not without its plan
    with unit_of_work(database_url) as session:  # nothing half-written by the refusals
        count = session.execute(select(func.count()).where(OfferRedemption.account_id == acc)).scalar_one()
        assert count == 0
    # a grant (a loyalty award) makes the account eligible whatever its segments; once per key
    with unit_of_work(database_url) as session:
        grant = grant_offer(session, operator.organisation_id, targeted["code"], acc, "award-1")
        assert grant_offer(session, operator.organisation_id, targeted["code"], acc, "award-1") == grant
    assert (await take(api, operator, acc, targeted["id"])).status_code == 201


async def test_the_operator_edits_pauses_and_ends_offers_and_bad_input_names_the_field(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    bad = await api.post(
        "/v1/offers", json=offer_body(kind="discount", value_minor=None), headers=operator.post_headers()
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "offer_terms_incomplete")
    unknown = await api.post(
        "/v1/offers", json=offer_body(segment_ids=["seg_nope"]), headers=operator.post_headers()
    )
    assert (unknown.status_code, unknown.json()["code"]) == (422, "segment_not_found")
    offer = await make_offer(api, operator, total_cap=5)
    patched = await api.patch(
        f"/v1/offers/{offer['id']}", json={"total_cap": 7, "name": "Bigger"}, headers=operator.auth
    )
    assert (patched.json()["total_cap"], patched.json()["name"]) == (7, "Bigger")
    listed = await api.get("/v1/offers?status=active", headers=operator.auth)
    assert offer["id"] in [o["id"] for o in listed.json()["data"]]
    ended = await api.post(f"/v1/offers/{offer['id']}/end", headers=operator.post_headers())
    assert ended.json()["status"] == "ended"
    resumed = await api.post(f"/v1/offers/{offer['id']}/resume", headers=operator.post_headers())
    assert (resumed.status_code, resumed.json()["code"]) == (409, "offer_status_invalid")
    other = make_operator(database_url, name="Other")
    assert (await api.get(f"/v1/offers/{offer['id']}", headers=other.auth)).status_code == 404


async def test_discounts_stack_by_group_and_quotes_show_them(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    tv = await plan(api, operator, prices={"EUR": "15.00"})
    sub = await subscription(api, operator, database_url, [tv], start=date(2026, 6, 1))
    acc = sub_account(database_url, sub.id)
    common = {"kind": "discount", "value_minor": None, "plan_code": tv, "periods": 3}
    group_a = await make_offer(api, operator, percent="20", stacking="stackable", stack_group="tv", **common)
    assert group_a["estimated_cost_minor"] == 900  # 3.00 off 15.00, three periods
    group_a2 = await make_offer(
        api, operator, amount_minor=100, stacking="stackable", stack_group="tv", **common
    )
    group_b = await make_offer(api, operator, percent="10", stacking="stackable", stack_group="net", **common)
    alone = await make_offer(api, operator, percent="50", **common)
    first = await take(api, operator, acc, group_a["id"])
    assert first.status_code == 201, first.text
    assert (first.json()["status"], first.json()["subscription_id"]) == ("active", sub.id)
    assert (await take(api, operator, acc, group_a2["id"])).status_code == 201
    for offer in (group_b, alone):
        refused = await take(api, operator, acc, offer["id"])
        assert (refused.status_code, refused.json()["code"]) == (409, "not_stackable")
    listed = await api.get(f"/v1/accounts/{acc}/offers", headers=operator.auth)
    assert {o["id"] for o in listed.json()["data"]} & {group_b["id"], alone["id"]} == set()

    item = {"plan": tv, "start": "2026-07-01", "periods": 4}
    quote = await api.post(
        "/v1/quotes", json={"account_id": acc, "bill_day": 1, "items": [item]}, headers=operator.auth
    )
    assert quote.status_code == 200, quote.text
    offers = [
        (ln["period_start"], ln["amount"]["amount_minor"])
        for ln in quote.json()["lines"]
        if ln["kind"] == "offer_discount"
    ]
    # the account's two accepted offers: 20% (3.00) and 1.00 off, each for three periods
    assert sorted(offers) == sorted(
        [(f"2026-0{m}-01", -300) for m in (7, 8, 9)] + [(f"2026-0{m}-01", -100) for m in (7, 8, 9)]
    )
    assert quote.json()["totals"]["net"]["amount_minor"] == 4 * 1500 - 3 * 400
    other = make_account(database_url, operator.organisation_id)
    asked = await api.post(
        "/v1/quotes",
        json={"account_id": other, "bill_day": 1, "items": [item], "offer_id": alone["id"]},
        headers=operator.auth,
    )
    amounts = [ln["amount"]["amount_minor"] for ln in asked.json()["lines"] if ln["kind"] == "offer_discount"]
    assert amounts == [-750, -750, -750]
    wrong = await api.post(
        "/v1/quotes",
        json={"account_id": other, "bill_day": 1, "items": [item], "offer_id": "off_nope"},
        headers=operator.auth,
    )
    assert wrong.status_code == 404


def sub_account(database_url: str, sub_id: str) -> str:
    with unit_of_work(database_url) as session:
        from models.subscriptions import Subscription

        sub = session.get(Subscription, sub_id)
        assert sub is not None
        return sub.account_id


def test_concurrent_accepts_stop_exactly_at_the_cap(database_url: str, operator: Tenant) -> None:
    """Twelve accounts accept an offer capped at 5 at once, each in its own transaction: exactly five win."""
    with unit_of_work(database_url) as session:
        offer = Offer(
            id=new_id("off"), organisation_id=operator.organisation_id, code=f"c-{uuid.uuid4().hex[:6]}",
            name="cap", kind="wallet_credit", status="active", currency="EUR", value_minor=100,
            segment_ids=[], channels=[], grant_only=False, starts_on=date(2026, 1, 1), total_cap=5,
            per_account_cap=1, redeemed_count=0, stacking="stackable", estimated_cost_minor=100,
            cost_to_date_minor=0, created_by="test",
        )  # fmt: skip
        session.add(offer)
        offer_id = offer.id
    accounts = [make_account(database_url, operator.organisation_id) for _ in range(12)]
    barrier = threading.Barrier(len(accounts))
    won: list[str] = []
    refused: list[str] = []

    def attempt(account_id: str) -> None:
        barrier.wait()
        try:
            with unit_of_work(database_url) as session:
                account = session.get(Account, account_id, with_for_update=True)
                assert account is not None
                done = accept(session, account, offer_id, AcceptRequest(), uuid.uuid4().hex, "test")
                won.append(done.redemption.id)
        except Conflict as exc:
            refused.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(a,)) for a in accounts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (len(won), sorted(set(refused)), len(refused)) == (5, ["offer_cap_reached"], 7)
    with unit_of_work(database_url) as session:
        row = session.get(Offer, offer_id)
        assert row is not None and (row.redeemed_count, row.cost_to_date_minor) == (5, 500)
        count = session.execute(select(func.count()).where(OfferRedemption.offer_id == offer_id)).scalar_one()
        assert count == 5
