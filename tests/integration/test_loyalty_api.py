"""The loyalty API: award rules (created, listed, edited; a rule on an unknown field or with a wrong type
is a 422 naming the field), the programme, a run's report, an account's points and redemptions (once per
Idempotency-Key; more than the balance is a 409 and moves nothing)."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from activities.loyalty import points
from models.base import unit_of_work
from tests.support.factories import Tenant, make_operator
from tests.support.loyalty_support import award_period, customer, programme, scalar

TENURE = {"criterion": {"kind": "maturity", "months_active": 12}, "award": {"kind": "points", "points": 100}}


def fields(resp: httpx.Response) -> list[str]:
    return [e["field"] for e in resp.json()["errors"]]


async def test_rules_are_created_listed_and_edited(api: httpx.AsyncClient, operator: Tenant) -> None:
    body = {"code": "tenure", "name": "A year with us", "definition": TENURE}
    created = await api.post("/v1/loyalty-rules", json=body, headers=operator.post_headers())
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["definition"] == {
        "criterion": {"kind": "maturity", "months_active": 12},
        "award": {"kind": "points", "points": 100, "points_per_major_unit": None},
        "frequency": "per_period",
    }
    assert rule["version"] == 1
    again = await api.post("/v1/loyalty-rules", json=body, headers=operator.post_headers())
    assert again.status_code == 409 and again.json()["code"] == "loyalty_rule_exists"
    spend = {
        "criterion": {
            "kind": "spend",
            "basis": "paid",
            "min_amount_minor": 5000,
            "currency": "EUR",
            "months": 3,
        },
        "award": {"kind": "voucher", "value_minor": 1000, "currency": "EUR"},
    }
    made = await api.post(
        "/v1/loyalty-rules",
        json={"code": "spender", "name": "Big spender", "definition": spend},
        headers=operator.post_headers(),
    )
    assert made.status_code == 201, made.text
    listed = await api.get("/v1/loyalty-rules?limit=1", headers=operator.auth)
    assert [r["code"] for r in listed.json()["data"]] == ["tenure"] and listed.json()["has_more"]
    rest = await api.get(f"/v1/loyalty-rules?cursor={listed.json()['next_cursor']}", headers=operator.auth)
    assert [r["code"] for r in rest.json()["data"]] == ["spender"]
    edited = await api.patch(f"/v1/loyalty-rules/{rule['id']}", json={"active": False}, headers=operator.auth)
    assert edited.status_code == 200 and edited.json()["active"] is False and edited.json()["version"] == 2
    empty = await api.patch(f"/v1/loyalty-rules/{rule['id']}", json={}, headers=operator.auth)
    assert empty.status_code == 422 and empty.json()["code"] == "empty_update"
    other = make_operator(api_database(api))
    hidden = await api.get(f"/v1/loyalty-rules/{rule['id']}", headers=other.auth)
    assert hidden.status_code == 404 and hidden.json()["code"] == "loyalty_rule_not_found"


def api_database(api: httpx.AsyncClient) -> str:
    return str(api._transport.app.state.settings.database_url)  # type: ignore[attr-defined]


async def test_a_bad_rule_is_a_422_naming_the_field(api: httpx.AsyncClient, operator: Tenant) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({**TENURE, "criterion": {"kind": "maturity", "months_active": 12, "colour": "red"}}, "colour"),
        ({**TENURE, "criterion": {"kind": "maturity", "months_active": "twelve"}}, "months_active"),
        ({**TENURE, "criterion": {"kind": "loyalty"}}, "definition.criterion"),
        (
            {**TENURE, "award": {"kind": "wallet_credit", "amount_minor": 5, "currency": "XXY"}},
            "wallet_credit",
        ),
        ({**TENURE, "criterion": {"kind": "services", "product_kinds": ["video", "fee"]}}, "services"),
        ({**TENURE, "award": {"kind": "points", "points": 1, "points_per_major_unit": "1"}}, "definition"),
        ({**TENURE, "frequency": "daily"}, "definition.frequency"),
    ]
    for definition, field in cases:
        resp = await api.post(
            "/v1/loyalty-rules",
            json={"code": "bad", "name": "Bad", "definition": definition},
            headers=operator.post_headers(),
        )
        assert resp.status_code == 422, (definition, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert any(field in name for name in fields(resp)), (field, resp.json())
    listed = await api.get("/v1/loyalty-rules", headers=operator.auth)
    assert listed.json()["data"] == []


@pytest.mark.today("2026-06-17T12:00:00+00:00")  # the points earned below expire on 2027-01-01
async def test_points_are_read_and_redeemed_once_per_key(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    org = operator.organisation_id
    gone = await api.get("/v1/loyalty-programme", headers=operator.auth)
    assert gone.status_code == 404
    put = await api.put(
        "/v1/loyalty-programme",
        json={"currency": "EUR", "point_value_minor": "0.5", "points_expiry_months": 12},
        headers=operator.auth,
    )
    assert put.status_code == 200 and put.json()["point_value_minor"] == "0.500000", put.text
    member = customer(database_url, org, since=date(2024, 1, 1))
    acc = member.account_id
    with unit_of_work(database_url) as session:
        points.earn_many(
            session, org, [points.Earn(acc, 300, f"api:{acc}", date(2027, 1, 1))], date(2026, 1, 1)
        )
    read = await api.get(f"/v1/accounts/{acc}/points", headers=operator.auth)
    assert read.json()["balance"] == 300 and [m["points"] for m in read.json()["movements"]] == [300]
    headers = operator.post_headers("redeem-once")
    path = f"/v1/accounts/{acc}/points/redemptions"
    first = await api.post(path, json={"points": 101, "reward": "wallet_credit"}, headers=headers)
    assert first.status_code == 201, first.text
    assert (first.json()["amount_minor"], first.json()["currency"], first.json()["balance"]) == (
        51,
        "EUR",
        199,
    )
    replay = await api.post(path, json={"points": 101, "reward": "wallet_credit"}, headers=headers)
    assert replay.status_code == 201 and replay.json() == first.json()
    too_many = await api.post(
        path, json={"points": 200, "reward": "voucher"}, headers=operator.post_headers()
    )
    assert too_many.status_code == 409 and too_many.json()["code"] == "points_insufficient"
    unchanged = await api.get(f"/v1/accounts/{acc}/points", headers=operator.auth)
    assert unchanged.json()["balance"] == 199 and len(unchanged.json()["movements"]) == 2
    voucher = await api.post(path, json={"points": 199, "reward": "voucher"}, headers=operator.post_headers())
    assert voucher.status_code == 201 and len(voucher.json()["voucher_code"]) == 19
    assert voucher.json()["amount_minor"] == 100  # 199 x 0.5 = 99.5 -> 100, half up
    after = await api.get(f"/v1/accounts/{acc}/points?limit=2", headers=operator.auth)
    assert after.json()["balance"] == 0 and [m["kind"] for m in after.json()["movements"]] == [
        "redeem",
        "redeem",
    ]
    assert after.json()["has_more"]
    assert scalar(database_url, "select balance_minor from wallets where account_id = :a", a=acc) == 51
    bad = await api.post(path, json={"points": 0, "reward": "cash"}, headers=operator.post_headers())
    assert bad.status_code == 422 and sorted(fields(bad)) == ["points", "reward"]


async def test_a_runs_report_counts_and_costs_per_rule(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    org = operator.organisation_id
    programme(database_url, org, value="2")
    for _ in range(3):
        customer(database_url, org, since=date(2024, 1, 1))
    created = await api.post(
        "/v1/loyalty-rules",
        json={"code": "tenure", "name": "Tenure", "definition": TENURE},
        headers=operator.post_headers(),
    )
    assert created.status_code == 201
    run_id = award_period(database_url, org)
    resp = await api.get(f"/v1/loyalty-runs/{run_id}", headers=operator.auth)
    assert resp.status_code == 200, resp.text
    run = resp.json()
    assert (run["period"], run["status"]) == ("2026-03", "completed")
    assert [(r["code"], r["awards"], r["applied"], r["points"], r["cost_minor"]) for r in run["rules"]] == [
        ("tenure", 3, 3, 300, 600)
    ]
    other = make_operator(database_url)
    assert (await api.get(f"/v1/loyalty-runs/{run_id}", headers=other.auth)).status_code == 404
    no_temporal = await api.post(
        "/v1/loyalty-runs", json={"period": "2026-03"}, headers=operator.post_headers()
    )
    assert no_temporal.status_code == 503 and no_temporal.json()["code"] == "temporal_unavailable"
    bad = await api.post("/v1/loyalty-runs", json={"period": "2026-13"}, headers=operator.post_headers())
    assert bad.status_code == 422 and fields(bad) == ["period"]
