"""/v1/me rewards: a subscriber redeems voucher codes into their wallet (guessing limited: 429), reads
their wallets and history page by page, takes the offers open to their channel (409 with the reason when
not), and reads and redeems their loyalty points (409 beyond the balance, balance unchanged). Another
subscriber's accounts are not found, staff keys are refused, writes need the CSRF token."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from activities.loyalty import points
from activities.wallets.redemption_limits import MAX_FAILURES
from models.base import unit_of_work
from models.vouchers import Voucher, VoucherRedemptionFailure
from tests.support.billing_factory import make_account
from tests.support.factories import Tenant, make_operator
from tests.support.loyalty_support import programme
from tests.support.subscribers import SignedIn, sign_in
from tests.support.wallet_support import entries_for, postings_of

TODAY = date(2026, 6, 17)
pytestmark = [pytest.mark.calendar, pytest.mark.today(f"{TODAY}T12:00:00+00:00")]


def headers(signed: SignedIn, key: str | None = None) -> dict[str, str]:
    return {**signed.write_headers, "Idempotency-Key": key or uuid.uuid4().hex}


async def me_post(
    api: httpx.AsyncClient, signed: SignedIn, path: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return await api.post(path, json=body, cookies=signed.cookies, headers=headers(signed, key))


async def voucher_codes(api: httpx.AsyncClient, tenant: Tenant, count: int, value: int = 1000) -> list[str]:
    body = {"value_minor": value, "currency": "EUR", "expires_on": "2027-06-17", "count": count}
    lot = await api.post("/v1/voucher-lots", json=body, headers=tenant.post_headers())
    assert lot.status_code == 201, lot.text
    done = await api.post(f"/v1/voucher-lots/{lot.json()['id']}/activate", headers=tenant.post_headers())
    assert done.json()["status"] == "activated"
    return list(lot.json()["codes"])


async def test_a_subscriber_redeems_a_code_once_into_their_wallet(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    first_code, second_code = await voucher_codes(api, operator, 2)
    mine = sign_in(database_url, make_account(database_url, operator.organisation_id))
    theirs = make_account(database_url, operator.organisation_id)
    key = uuid.uuid4().hex
    redeemed = await me_post(api, mine, "/v1/me/vouchers/redeem", {"code": first_code}, key)
    assert redeemed.status_code == 201, redeemed.text
    out = redeemed.json()
    assert (out["value_minor"], out["currency"], out["wallet"]["balance_minor"]) == (1000, "EUR", 1000)
    assert out["transaction"]["amount_minor"] == 1000
    replay = await me_post(api, mine, "/v1/me/vouchers/redeem", {"code": first_code}, key)
    assert replay.json()["transaction"]["id"] == out["transaction"]["id"]
    (entry,) = entries_for(database_url, mine.account_id)
    assert sorted(p[2] + p[3] for p in postings_of(database_url, entry.id)) == [1000, 1000]

    used = await me_post(api, mine, "/v1/me/vouchers/redeem", {"code": first_code})
    assert (used.status_code, used.json()["code"]) == (409, "voucher_already_redeemed")
    wrong = await me_post(api, mine, "/v1/me/vouchers/redeem", {"code": "AAAA-BBBB-CCCC-DDDD"})
    assert (wrong.status_code, wrong.json()["code"]) == (404, "voucher_not_found")
    other = await me_post(api, mine, "/v1/me/vouchers/redeem", {"code": second_code, "account_id": theirs})
    assert (other.status_code, other.json()["code"]) == (404, "account_not_found")
    staff = await api.post(
        "/v1/me/vouchers/redeem", json={"code": second_code}, headers=operator.post_headers()
    )
    assert (staff.status_code, staff.json()["code"]) == (403, "subscriber_only")
    no_csrf = await api.post(
        "/v1/me/vouchers/redeem",
        json={"code": second_code},
        cookies=mine.cookies,
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert (no_csrf.status_code, no_csrf.json()["code"]) == (403, "csrf_token_invalid")
    with unit_of_work(database_url) as session:
        unredeemed = session.scalar(
            select(func.count())
            .where(Voucher.status == "activated", Voucher.redeemed_at.is_(None))
            .where(Voucher.redeemed_by_account_id.is_(None), Voucher.display_prefix == second_code[:4])
        )
    assert unredeemed == 1  # none of the refused attempts redeemed the second code


async def test_guessing_codes_is_refused_after_the_limit_even_with_a_good_code(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    (good,) = await voucher_codes(api, operator, 1, value=700)
    guesser = sign_in(database_url, make_account(database_url, operator.organisation_id))
    neighbour = sign_in(database_url, make_account(database_url, operator.organisation_id))
    for attempt in range(MAX_FAILURES):
        guess = await me_post(
            api, guesser, "/v1/me/vouchers/redeem", {"code": f"ZZZZ-ZZZZ-ZZZZ-{attempt:04d}"}
        )
        assert guess.status_code == 404, guess.text
    refused = await me_post(api, guesser, "/v1/me/vouchers/redeem", {"code": good})
    assert (refused.status_code, refused.json()["code"]) == (429, "too_many_voucher_attempts")
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    wallets = await api.get("/v1/me/wallets", cookies=guesser.cookies)
    assert wallets.json()["data"] == []  # nothing credited
    # the limit is per account: another subscriber may still try, and a wrong code counts for them alone
    missed = await me_post(api, neighbour, "/v1/me/vouchers/redeem", {"code": "ZZZZ-ZZZZ-ZZZZ-9999"})
    assert missed.status_code == 404
    # an hour later the guesser's failures no longer count (and are forgotten at the next failure)
    with unit_of_work(database_url) as session:
        session.execute(
            update(VoucherRedemptionFailure)
            .where(VoucherRedemptionFailure.account_id == guesser.account_id)
            .values(failed_at=VoucherRedemptionFailure.failed_at - timedelta(minutes=61))
        )
    once_more = await me_post(api, guesser, "/v1/me/vouchers/redeem", {"code": "ZZZZ-ZZZZ-ZZZZ-8888"})
    assert once_more.status_code == 404
    ok = await me_post(api, guesser, "/v1/me/vouchers/redeem", {"code": good})
    assert ok.status_code == 201 and ok.json()["wallet"]["balance_minor"] == 700
    with unit_of_work(database_url) as session:
        kept = session.scalars(
            select(VoucherRedemptionFailure.code).where(
                VoucherRedemptionFailure.account_id == guesser.account_id
            )
        ).all()
    assert kept == ["voucher_not_found"]


async def test_wallets_and_their_history_page_by_page(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    codes = await voucher_codes(api, operator, 3, value=250)
    mine = sign_in(database_url, make_account(database_url, operator.organisation_id))
    other = sign_in(database_url, make_account(database_url, operator.organisation_id))
    for code in codes:
        assert (await me_post(api, mine, "/v1/me/vouchers/redeem", {"code": code})).status_code == 201
    wallets = await api.get("/v1/me/wallets", cookies=mine.cookies)
    assert [(w["currency"], w["balance_minor"]) for w in wallets.json()["data"]] == [("EUR", 750)]
    page = await api.get("/v1/me/wallets/EUR/transactions?limit=2", cookies=mine.cookies)
    assert page.status_code == 200, page.text
    assert [t["amount_minor"] for t in page.json()["data"]] == [250, 250] and page.json()["has_more"]
    rest = await api.get(
        "/v1/me/wallets/EUR/transactions",
        params={"limit": 2, "cursor": page.json()["next_cursor"]},
        cookies=mine.cookies,
    )
    assert [t["amount_minor"] for t in rest.json()["data"]] == [250] and not rest.json()["has_more"]
    ids = {t["id"] for t in page.json()["data"] + rest.json()["data"]}
    assert len(ids) == 3
    hidden = await api.get(
        "/v1/me/wallets/EUR/transactions", params={"account_id": mine.account_id}, cookies=other.cookies
    )
    assert (hidden.status_code, hidden.json()["code"]) == (404, "account_not_found")
    none = await api.get("/v1/me/wallets/EUR/transactions", cookies=other.cookies)
    assert (none.status_code, none.json()["code"]) == (404, "wallet_not_found")
    staff = await api.get("/v1/me/wallets", headers=operator.auth)
    assert (staff.status_code, staff.json()["code"]) == (403, "subscriber_only")


def offer_body(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": f"o-{uuid.uuid4().hex[:8]}",
        "name": "Summer bonus",
        "kind": "wallet_credit",
        "currency": "EUR",
        "value_minor": 1200,
        "starts_on": "2026-06-01",
        "ends_on": "2026-06-30",
    }
    return {**body, **extra}


async def make_offer(api: httpx.AsyncClient, tenant: Tenant, **extra: Any) -> dict[str, Any]:
    resp = await api.post("/v1/offers", json=offer_body(**extra), headers=tenant.post_headers())
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


async def test_offers_open_to_the_portal_are_listed_and_taken_once(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    portal = await make_offer(api, operator, channels=["portal"], total_cap=5)
    care_only = await make_offer(api, operator, channels=["care"])
    ended = await make_offer(api, operator, starts_on="2026-05-01", ends_on="2026-06-16")
    mine = sign_in(database_url, make_account(database_url, operator.organisation_id))
    theirs = make_account(database_url, operator.organisation_id)
    listed = await api.get("/v1/me/offers", cookies=mine.cookies)
    assert listed.status_code == 200, listed.text
    ids = [o["id"] for o in listed.json()["data"]]
    assert portal["id"] in ids and care_only["id"] not in ids and ended["id"] not in ids
    assert listed.json()["channel"] == "portal"

    taken = await me_post(api, mine, f"/v1/me/offers/{portal['id']}/accept", {})
    assert taken.status_code == 201, taken.text
    assert (taken.json()["status"], taken.json()["cost_minor"]) == ("completed", 1200)
    wallets = await api.get("/v1/me/wallets", cookies=mine.cookies)
    assert [w["balance_minor"] for w in wallets.json()["data"]] == [1200]
    again = await me_post(api, mine, f"/v1/me/offers/{portal['id']}/accept", {})
    assert (again.status_code, again.json()["code"]) == (409, "account_cap_reached")
    by_care = await me_post(api, mine, f"/v1/me/offers/{care_only['id']}/accept", {})
    assert (by_care.status_code, by_care.json()["code"]) == (409, "channel_not_eligible")
    late = await me_post(api, mine, f"/v1/me/offers/{ended['id']}/accept", {})
    assert (late.status_code, late.json()["code"]) == (409, "offer_ended")
    for_them = await me_post(api, mine, f"/v1/me/offers/{portal['id']}/accept", {"account_id": theirs})
    assert (for_them.status_code, for_them.json()["code"]) == (404, "account_not_found")
    elsewhere = await make_offer(api, make_operator(database_url, name="Other"), channels=["portal"])
    foreign = await me_post(api, mine, f"/v1/me/offers/{elsewhere['id']}/accept", {})
    assert (foreign.status_code, foreign.json()["code"]) == (404, "offer_not_found")
    listed_after = await api.get("/v1/me/offers", cookies=mine.cookies)
    assert portal["id"] not in [o["id"] for o in listed_after.json()["data"]]


async def test_points_are_read_and_redeemed_within_the_balance(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    org = operator.organisation_id
    programme(database_url, org, value="0.5", expiry_months=12)
    mine = sign_in(database_url, make_account(database_url, org))
    other = sign_in(database_url, make_account(database_url, org))
    with unit_of_work(database_url) as session:
        points.earn_many(
            session,
            org,
            [points.Earn(mine.account_id, 300, f"me:{mine.account_id}", date(2027, 1, 1))],
            date(2026, 1, 1),
        )
    read = await api.get("/v1/me/points", cookies=mine.cookies)
    assert read.status_code == 200, read.text
    assert read.json()["balance"] == 300 and [m["points"] for m in read.json()["movements"]] == [300]
    key = uuid.uuid4().hex
    body = {"points": 101, "reward": "wallet_credit"}
    first = await me_post(api, mine, "/v1/me/points/redemptions", body, key)
    assert first.status_code == 201, first.text
    assert (first.json()["amount_minor"], first.json()["balance"]) == (51, 199)
    replay = await me_post(api, mine, "/v1/me/points/redemptions", body, key)
    assert replay.json() == first.json()
    beyond = await me_post(api, mine, "/v1/me/points/redemptions", {"points": 200, "reward": "voucher"})
    assert (beyond.status_code, beyond.json()["code"]) == (409, "points_insufficient")
    unchanged = await api.get("/v1/me/points", cookies=mine.cookies)
    assert unchanged.json()["balance"] == 199
    voucher = await me_post(api, mine, "/v1/me/points/redemptions", {"points": 199, "reward": "voucher"})
    assert voucher.status_code == 201 and voucher.json()["amount_minor"] == 100
    wallets = await api.get("/v1/me/wallets", cookies=mine.cookies)
    assert [w["balance_minor"] for w in wallets.json()["data"]] == [51]
    hidden = await api.get("/v1/me/points", params={"account_id": mine.account_id}, cookies=other.cookies)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "account_not_found")
    theirs = await me_post(
        api,
        other,
        "/v1/me/points/redemptions",
        {"points": 1, "reward": "voucher", "account_id": mine.account_id},
    )
    assert (theirs.status_code, theirs.json()["code"]) == (404, "account_not_found")
    assert (await api.get("/v1/me/points", cookies=other.cookies)).json()["balance"] == 0


async def test_a_b2b_parent_acts_for_its_child_but_the_child_not_for_its_parent(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    (code,) = await voucher_codes(api, operator, 1, value=300)
    parent = make_account(database_url, operator.organisation_id, type="company", legal_name="Acme SL")
    child = make_account(database_url, operator.organisation_id, parent_account_id=parent)
    boss = sign_in(database_url, parent)
    branch = sign_in(database_url, child)
    redeemed = await me_post(api, boss, "/v1/me/vouchers/redeem", {"code": code, "account_id": child})
    assert redeemed.status_code == 201, redeemed.text
    seen = await api.get("/v1/me/wallets", params={"account_id": child}, cookies=boss.cookies)
    assert [w["balance_minor"] for w in seen.json()["data"]] == [300]
    own = await api.get("/v1/me/wallets", cookies=boss.cookies)
    assert own.json()["data"] == []  # the credit went to the child's wallet, not the parent's
    assert [
        w["balance_minor"] for w in (await api.get("/v1/me/wallets", cookies=branch.cookies)).json()["data"]
    ] == [300]
    up = await api.get("/v1/me/wallets", params={"account_id": parent}, cookies=branch.cookies)
    assert (up.status_code, up.json()["code"]) == (404, "account_not_found")
