"""Every billing case of shared/SCENARIOS.md through POST /v1/quotes, exact to the cent."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.catalog_factory import plan, post
from tests.support.factories import Tenant, person


async def quote(api: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    resp = await api.post("/v1/quotes", json=body, headers=tenant.auth)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def amounts(q: dict[str, Any]) -> list[str]:
    return [line["amount"]["amount"] for line in q["lines"]]


async def test_kill_bill_proration_bcd_31(api: httpx.AsyncClient, operator: Tenant) -> None:
    code = await plan(api, operator, prices={"USD": "599.95"})
    q = await quote(
        api,
        operator,
        {"currency": "USD", "bill_day": 31, "items": [{"plan": code, "start": "2012-03-02", "periods": 2}]},
    )
    first, second = q["lines"]
    assert (first["period_start"], first["period_end"]) == ("2012-02-29", "2012-03-31")
    assert (first["service_start"], first["service_end"]) == ("2012-03-02", "2012-03-31")
    assert first["amount"] == {"amount_minor": 56124, "amount": "561.24", "currency": "USD"}
    assert (second["service_start"], second["service_end"]) == ("2012-03-31", "2012-04-30")
    assert second["amount"]["amount"] == "599.95"
    assert q["totals"]["gross"]["amount_minor"] == 56124 + 59995


async def test_usage_tiers_graduated_and_volume(api: httpx.AsyncClient, operator: Tenant) -> None:
    def usage(model: str) -> list[dict[str, Any]]:
        return [
            {
                "metric": "minutes",
                "unit": "minute",
                "model": model,
                "block_size": "10",
                "prices": {
                    "EUR": {
                        "tiers": [
                            {"up_to": "100", "unit_price": "1.00"},
                            {"up_to": None, "unit_price": "0.50"},
                        ]
                    }
                },
            },
            {
                "metric": "data_mb",
                "unit": "MB",
                "model": model,
                "prices": {
                    "EUR": {
                        "tiers": [
                            {"up_to": "1024", "unit_price": "0.50"},
                            {"up_to": None, "unit_price": "0.10"},
                        ]
                    }
                },
            },
        ]

    expected = {"graduated": (["125.00", "614.40"], "739.40"), "volume": (["75.00", "204.80"], "279.80")}
    for model, (lines, total) in expected.items():
        code = await plan(api, operator, billing_term="in_arrears", usage=usage(model))
        q = await quote(
            api,
            operator,
            {
                "currency": "EUR",
                "items": [
                    {"plan": code, "start": "2024-05-01", "usage": {"minutes": "1500", "data_mb": "2048"}}
                ],
            },
        )
        assert amounts(q) == lines, model
        assert q["totals"]["gross"]["amount"] == total


async def test_lago_upgrade_in_arrears(api: httpx.AsyncClient, operator: Tenant) -> None:
    old = await plan(api, operator, prices={"EUR": "100"}, billing_term="in_arrears")
    new = await plan(api, operator, prices={"EUR": "200"}, billing_term="in_arrears")
    q = await quote(
        api,
        operator,
        {
            "currency": "EUR",
            "items": [{"plan": old, "start": "2025-01-01", "change_to": new, "change_on": "2025-01-15"}],
        },
    )
    assert [
        (ln["plan"], ln["service_start"], ln["service_end"], ln["amount"]["amount"]) for ln in q["lines"]
    ] == [
        (old, "2025-01-01", "2025-01-15", "45.16"),
        (new, "2025-01-15", "2025-02-01", "109.68"),
    ]


async def test_upgrade_in_advance_credits_unused_days(api: httpx.AsyncClient, operator: Tenant) -> None:
    old = await plan(api, operator, prices={"EUR": "100"})
    new = await plan(api, operator, prices={"EUR": "200"})
    q = await quote(
        api,
        operator,
        {
            "currency": "EUR",
            "items": [{"plan": old, "start": "2025-01-01", "change_to": new, "change_on": "2025-01-15"}],
        },
    )
    assert [(ln["kind"], ln["amount"]["amount"]) for ln in q["lines"]] == [
        ("recurring", "100.00"),
        ("credit", "-54.84"),
        ("recurring", "109.68"),
    ]


async def test_currencies_with_other_minor_units(api: httpx.AsyncClient, operator: Tenant) -> None:
    code = await plan(api, operator, prices={"JPY": "3000", "KWD": "9.995"})
    jpy = await quote(
        api, operator, {"currency": "JPY", "items": [{"plan": code, "start": "2024-02-10"}], "bill_day": 1}
    )
    assert jpy["lines"][0]["amount"] == {"amount_minor": 2069, "amount": "2069", "currency": "JPY"}  # 20/29
    kwd = await quote(
        api, operator, {"currency": "KWD", "items": [{"plan": code, "start": "2024-02-10"}], "bill_day": 1}
    )
    assert kwd["lines"][0]["amount"]["amount"] == "6.893"  # 20/29 x 9.995 = 6.8931


async def test_dst_does_not_shift_periods(api: httpx.AsyncClient, operator: Tenant) -> None:
    code = await plan(api, operator, prices={"USD": "30.00"})
    q = await quote(
        api,
        operator,
        {
            "currency": "USD",
            "timezone": "America/New_York",
            "items": [{"plan": code, "start": "2024-02-10", "periods": 3}],
        },
    )
    assert [ln["service_start"] for ln in q["lines"]] == ["2024-02-10", "2024-03-10", "2024-04-10"]
    assert [ln["starts_at"] for ln in q["lines"]] == [
        "2024-02-10T00:00:00-05:00",
        "2024-03-10T00:00:00-05:00",
        "2024-04-10T00:00:00-04:00",
    ]
    assert amounts(q) == ["30.00", "30.00", "30.00"]


async def test_tax_per_rate_on_totals_exclusive_and_inclusive(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    await post(
        api,
        operator,
        "/v1/catalog/tax-rates",
        {"country": "ES", "category": "standard", "percent": "21", "name": "IVA general"},
    )
    a = await plan(api, operator, prices={"EUR": "0.50"})
    b = await plan(api, operator, prices={"EUR": "0.50"})
    account = (await api.post("/v1/accounts", json=person(), headers=operator.post_headers())).json()
    items = [{"plan": a, "start": "2024-01-01"}, {"plan": b, "start": "2024-01-01"}]
    q = await quote(api, operator, {"account_id": account["id"], "items": items})
    # 21% of the 1.00 total is 0.21, rounded once; rounding per line would give 0.105 → 0.11 twice.
    assert q["taxes"][0]["tax"]["amount"] == "0.21" and q["totals"]["gross"]["amount"] == "1.21"
    assert sorted(line["tax"]["amount"] for line in q["lines"]) == ["0.10", "0.11"]
    await post(
        api,
        operator,
        "/v1/catalog/price-lists",
        {
            "code": "es-eur",
            "country": "ES",
            "currency": "EUR",
            "tax_inclusive": True,
            "recurring": {a: "12.10", b: "12.10"},
        },
    )
    inclusive = await quote(api, operator, {"account_id": account["id"], "items": items})
    assert inclusive["tax_inclusive"] is True
    assert inclusive["totals"]["gross"]["amount"] == "24.20"
    assert inclusive["totals"]["net"]["amount"] == "20.00" and inclusive["totals"]["tax"]["amount"] == "4.20"


async def test_reverse_charge_b2b_pays_no_tax(api: httpx.AsyncClient, operator: Tenant) -> None:
    await post(
        api,
        operator,
        "/v1/catalog/tax-rates",
        {"country": "FR", "category": "standard", "percent": "20", "name": "TVA"},
    )
    code = await plan(api, operator, prices={"EUR": "50.00"})
    q = await quote(
        api,
        operator,
        {
            "currency": "EUR",
            "country": "FR",
            "tax_status": "reverse_charge",
            "items": [{"plan": code, "start": "2024-01-01"}],
        },
    )
    assert q["totals"]["tax"]["amount_minor"] == 0 and q["taxes"][0]["reason"] == "reverse_charge"
    taxed = await quote(
        api, operator, {"currency": "EUR", "country": "FR", "items": [{"plan": code, "start": "2024-01-01"}]}
    )
    assert taxed["totals"]["tax"]["amount"] == "10.00"


async def test_operator_rounding_mode_applies_to_quotes(api: httpx.AsyncClient, operator: Tenant) -> None:
    code = await plan(api, operator, prices={"EUR": "10.00"})
    body = {"currency": "EUR", "bill_day": 1, "items": [{"plan": code, "start": "2024-01-17"}]}
    # 15/31 x 10.00 = 4.8387 → 4.84 half-up, 4.83 rounded down
    assert (await quote(api, operator, body))["lines"][0]["amount"]["amount"] == "4.84"
    edited = await api.patch(
        f"/v1/organisations/{operator.organisation_id}", json={"rounding_mode": "down"}, headers=operator.auth
    )
    assert edited.status_code == 200 and edited.json()["rounding_mode"] == "down"
    assert (await quote(api, operator, body))["lines"][0]["amount"]["amount"] == "4.83"
    bad = await api.patch(
        f"/v1/organisations/{operator.organisation_id}",
        json={"rounding_mode": "banker"},
        headers=operator.auth,
    )
    assert bad.status_code == 422


async def test_cgrates_call_rated_once_to_four_decimals(api: httpx.AsyncClient, operator: Tenant) -> None:
    tariff = {
        "connect_fee": "0.40",
        "groups": [
            {"start": 0, "rate": "0.20", "rate_unit": 60, "increment": 60},
            {"start": 60, "rate": "0.10", "rate_unit": 60, "increment": 1},
        ],
        "precision": 4,
        "rounding": "up",
    }
    code = await plan(
        api,
        operator,
        billing_term="in_arrears",
        usage=[{"metric": "voice", "unit": "second", "model": "call", "prices": {"EUR": {"call": tariff}}}],
    )
    q = await quote(
        api,
        operator,
        {"currency": "EUR", "items": [{"plan": code, "start": "2024-01-01", "calls": {"voice": [130]}}]},
    )
    (line,) = q["lines"]
    assert line["unit_price"] == "0.7167"  # CGRateS rounds every increment and says 0.7169
    assert line["amount"]["amount"] == "0.72"
    many = await quote(
        api,
        operator,
        {
            "currency": "EUR",
            "items": [{"plan": code, "start": "2024-01-01", "calls": {"voice": [130, 130, 130]}}],
        },
    )
    assert many["lines"][0]["amount"]["amount"] == "2.15"  # 3 x 0.7167 = 2.1501, rounded once
    bad = await api.post(
        "/v1/quotes",
        headers=operator.auth,
        json={"currency": "EUR", "items": [{"plan": code, "start": "2024-01-01", "calls": {"voice": [-5]}}]},
    )
    assert bad.status_code == 422


async def test_an_empty_account_id_is_refused_not_a_server_error(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    """Found by the schema fuzzer: "" passed the account-or-currency check and then crashed pricing."""
    body = {"account_id": "", "items": [{"plan": "tv-basic", "start": "2026-03-01"}]}
    resp = await api.post("/v1/quotes", json=body, headers=operator.post_headers())
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["field"] == "account_id"
