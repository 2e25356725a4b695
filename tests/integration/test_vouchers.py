"""Vouchers: lots (codes shown once, stored hashed), activation, redemption exactly once (also under 8
concurrent attempts), and the refusals: not active, expired, cancelled, redeemed, wrong currency."""

from __future__ import annotations

import threading
from datetime import date

import httpx
import pytest
from sqlalchemy import select, update

from activities.wallets import vouchers
from domain.errors import RuleViolation
from models.accounts import Account
from models.base import unit_of_work
from models.vouchers import Voucher, VoucherLot
from models.wallets import Wallet
from tests.support.billing_factory import make_account
from tests.support.factories import Tenant
from tests.support.wallet_support import entries_for, postings_of

# Lots are created, redeemed and expired against today: these tests fix it.
TODAY = date(2026, 6, 17)
NEXT_YEAR = "2027-06-17"
pytestmark = [pytest.mark.calendar, pytest.mark.today(f"{TODAY}T12:00:00+00:00")]


async def make_lot(api: httpx.AsyncClient, tenant: Tenant, *, count: int = 2, activate: bool = True,
                   **extra: object) -> dict[str, object]:  # fmt: skip
    body = {"value_minor": 1000, "currency": "EUR", "expires_on": NEXT_YEAR, "count": count, **extra}
    resp = await api.post("/v1/voucher-lots", json=body, headers=tenant.post_headers())
    assert resp.status_code == 201, resp.text
    lot = dict(resp.json())
    if activate:
        done = await api.post(f"/v1/voucher-lots/{lot['id']}/activate", headers=tenant.post_headers())
        assert done.json()["status"] == "activated"
    return lot


async def redeem(api: httpx.AsyncClient, tenant: Tenant, code: str, account_id: str) -> httpx.Response:
    return await api.post(
        "/v1/vouchers/redeem", json={"code": code, "account_id": account_id}, headers=tenant.post_headers()
    )


async def test_a_lot_returns_its_codes_once_and_keeps_only_hashes(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    key = operator.post_headers()
    body = {"value_minor": 500, "currency": "EUR", "expires_on": NEXT_YEAR, "count": 3}
    first = await api.post("/v1/voucher-lots", json=body, headers=key)
    lot = first.json()
    assert (lot["status"], lot["count"], len(lot["codes"])) == ("created", 3, 3)
    assert len(set(lot["codes"])) == 3 and all(len(c) == 19 for c in lot["codes"])
    assert lot["codes_csv"].splitlines()[0] == "code,value_minor,currency,expires_on,lot_id"
    assert len(lot["codes_csv"].splitlines()) == 4
    replay = await api.post("/v1/voucher-lots", json=body, headers=key)
    assert (replay.json()["id"], replay.json()["codes"]) == (lot["id"], [])
    with unit_of_work(database_url) as session:
        rows = session.execute(select(Voucher).where(Voucher.lot_id == lot["id"])).scalars().all()
        stored = " ".join(f"{v.code_hash} {v.display_prefix}" for v in rows)
    assert {v.display_prefix for v in rows} == {c[:4] for c in lot["codes"]}
    assert not any(c.replace("-", "") in stored for c in lot["codes"])

    acc = make_account(database_url, operator.organisation_id)
    assert (await redeem(api, operator, lot["codes"][0], acc)).json()["code"] == "voucher_not_active"


async def test_redeem_to_the_wallet_once_with_its_ledger_entry(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    lot = await make_lot(api, operator)
    codes = lot["codes"]
    assert isinstance(codes, list)
    acc = make_account(database_url, operator.organisation_id)
    ok = await redeem(api, operator, codes[0].lower().replace("-", " "), acc)
    assert ok.status_code == 201, ok.text
    assert (ok.json()["value_minor"], ok.json()["wallet"]["balance_minor"]) == (1000, 1000)
    again = await redeem(api, operator, codes[0], acc)
    assert (again.status_code, again.json()["code"]) == (409, "voucher_already_redeemed")
    unknown = await redeem(api, operator, "0000-0000-0000-0000", acc)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "voucher_not_found")
    malformed = await redeem(api, operator, "nope", acc)
    assert (malformed.status_code, malformed.json()["code"]) == (422, "voucher_code_invalid")
    [entry] = entries_for(database_url, acc)
    assert postings_of(database_url, entry.id) == [("cash:voucher", None, 1000, 0), ("wallet", acc, 0, 1000)]


async def test_expired_cancelled_and_foreign_currency_vouchers_move_nothing(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    acc = make_account(database_url, operator.organisation_id)
    expired = await make_lot(api, operator)
    with unit_of_work(database_url) as session:
        session.execute(
            update(VoucherLot).where(VoucherLot.id == expired["id"]).values(expires_on=date(2020, 1, 1))
        )
    resp = await redeem(api, operator, expired["codes"][0], acc)  # type: ignore[index]
    assert (resp.status_code, resp.json()["code"]) == (422, "voucher_expired")
    with unit_of_work(database_url) as session:
        assert vouchers.expire_vouchers(session, TODAY) >= 2

    cancelled = await make_lot(api, operator)
    out = await api.post(f"/v1/voucher-lots/{cancelled['id']}/cancel", headers=operator.post_headers())
    assert (out.json()["status"], out.json()["vouchers_cancelled"]) == ("cancelled", 2)
    resp = await redeem(api, operator, cancelled["codes"][0], acc)  # type: ignore[index]
    assert (resp.status_code, resp.json()["code"]) == (409, "voucher_cancelled")
    reactivate = await api.post(
        f"/v1/voucher-lots/{cancelled['id']}/activate", headers=operator.post_headers()
    )
    assert reactivate.json()["code"] == "voucher_lot_cancelled"

    dollars = await make_lot(api, operator, currency="USD")
    resp = await redeem(api, operator, dollars["codes"][0], acc)  # type: ignore[index]
    assert (resp.status_code, resp.json()["code"]) == (422, "currency_mismatch")
    for_plan = await make_lot(api, operator, plan_code="prepaid-basic")
    resp = await redeem(api, operator, for_plan["codes"][0], acc)  # type: ignore[index]
    assert (resp.status_code, resp.json()["code"]) == (422, "subscription_required")

    assert entries_for(database_url, acc) == []
    with unit_of_work(database_url) as session:
        assert session.execute(select(Wallet).where(Wallet.account_id == acc)).first() is None


async def test_one_code_is_redeemed_once_under_eight_concurrent_attempts(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    lot = await make_lot(api, operator, count=1)
    code = lot["codes"][0]  # type: ignore[index]
    acc = make_account(database_url, operator.organisation_id)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait()
        try:
            with unit_of_work(database_url) as session:
                account = session.get(Account, acc)
                assert account is not None
                vouchers.redeem(session, code=code, account=account, subscription_id=None, today=TODAY)
            outcomes.append("redeemed")
        except RuleViolation as err:
            outcomes.append(err.code)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["redeemed"] + ["voucher_already_redeemed"] * 7
    with unit_of_work(database_url) as session:
        wallet = session.execute(select(Wallet).where(Wallet.account_id == acc)).scalar_one()
        assert wallet.balance_minor == 1000
    assert len(entries_for(database_url, acc)) == 1
