"""Catalogue prices, rates, percentages and quote inputs are bounded: 422 naming the field, never a 500.

A price is a finite Decimal from 0 to 10^13 major units with at most 6 decimals (call rates 8), a
percentage 0 to 100, a usage quantity 0 to 10^12; a quote rates at most 10,000 calls and covers at most
36 billing periods. The largest price still prices exactly through a quote.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.catalog_factory import code, plan, product
from tests.support.factories import Tenant

THOUSAND_DIGITS = "9" * 1000
# (value, expected code) for any price field
BAD_PRICES: list[tuple[Any, str]] = [
    ("NaN", "price_not_finite"),
    ("Infinity", "price_not_finite"),
    ("-Infinity", "price_not_finite"),
    ("1e400", "price_too_large"),
    (THOUSAND_DIGITS, "price_too_large"),
    ("10000000000000.01", "price_too_large"),
    ("-1", "price_negative"),
    ("0." + "0" * 999 + "1", "price_precision"),
]


def problem(resp: httpx.Response, code_: str, field: str) -> None:
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["code"] == code_, body
    assert [e["field"] for e in body["errors"]] == [field], body


async def _plan_refused(
    api: httpx.AsyncClient, tenant: Tenant, product_code: str, field: str, code_: str, **definition: Any
) -> None:
    body = {"code": code("bad"), "name": "Bad", "product_code": product_code, **definition}
    problem(await api.post("/v1/catalog/plans", json=body, headers=tenant.post_headers()), code_, field)


def _usage(price: dict[str, Any], model: str = "per_unit", **extra: Any) -> list[dict[str, Any]]:
    return [{"metric": "mb", "model": model, "prices": {"EUR": price}, **extra}]


def _call(tariff: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"metric": "voice", "model": "call", "prices": {"EUR": {"call": tariff}}}]


def _group(**extra: Any) -> dict[str, Any]:
    return {"start": 0, "rate": "0.10", "rate_unit": 60, "increment": 1, **extra}


@pytest.mark.parametrize(("value", "expected"), BAD_PRICES)
async def test_every_kind_of_plan_price_is_bounded(
    api: httpx.AsyncClient, operator: Tenant, value: Any, expected: str
) -> None:
    product_code = await product(api, operator)
    box = await product(api, operator, "device")
    ok = {"EUR": "1.00"}
    evergreen = [{"kind": "evergreen", "prices": ok}]
    cases: list[tuple[str, dict[str, Any]]] = [
        ("phases.0.prices.EUR", {"phases": [{"kind": "evergreen", "prices": {"EUR": value}}]}),
        (
            "one_off_fees.0.prices.EUR",
            {
                "phases": evergreen,
                "one_off_fees": [{"code": "setup", "name": "Setup", "prices": {"EUR": value}}],
            },
        ),
        (
            "device.prices.EUR",
            {"phases": evergreen, "device": {"product_code": box, "mode": "rent", "prices": {"EUR": value}}},
        ),
        ("on_demand_prices.EUR", {"access_hours": 48, "on_demand_prices": {"EUR": value}}),
        ("usage.0.prices.EUR.unit_price", {"usage": _usage({"unit_price": value})}),
        ("usage.0.prices.EUR.minimum", {"usage": _usage({"unit_price": "0.01", "minimum": value})}),
        (
            "usage.0.prices.EUR.tiers.0.unit_price",
            {"usage": _usage({"tiers": [{"up_to": None, "unit_price": value}]}, "graduated")},
        ),
        (
            "usage.0.prices.EUR.tiers.0.flat_fee",
            {
                "usage": _usage(
                    {"tiers": [{"up_to": None, "unit_price": "0.01", "flat_fee": value}]}, "volume"
                )
            },
        ),
        (
            "usage.0.prices.EUR.call.connect_fee",
            {"usage": _call({"connect_fee": value, "groups": [_group()]})},
        ),
        ("usage.0.prices.EUR.call.groups.0.rate", {"usage": _call({"groups": [_group(rate=value)]})}),
    ]
    for field, definition in cases:
        await _plan_refused(api, operator, product_code, field, expected, **definition)


async def test_quantities_and_call_groups_are_bounded(api: httpx.AsyncClient, operator: Tenant) -> None:
    product_code = await product(api, operator)
    ok = {"unit_price": "0.01"}
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("usage.0.included", "quantity_too_large", {"usage": _usage(ok, included="1e13")}),
        ("usage.0.included", "quantity_not_finite", {"usage": _usage(ok, included="NaN")}),
        ("usage.0.block_size", "quantity_negative", {"usage": _usage(ok, block_size="-5")}),
        ("usage.0", "block_size_invalid", {"usage": _usage(ok, block_size="0")}),
        (
            "usage.0.prices.EUR.tiers.0.up_to",
            "quantity_too_large",
            {"usage": _usage({"tiers": [{"up_to": THOUSAND_DIGITS, "unit_price": "0.01"}]}, "graduated")},
        ),
        (
            "usage.0.prices.EUR.call.groups.0.rate_unit",
            "less_than_equal",
            {"usage": _call({"groups": [_group(rate_unit=10**12)]})},
        ),
        (
            "usage.0.prices.EUR.call.groups.0.increment",
            "less_than_equal",
            {"usage": _call({"groups": [_group(increment=86_401)]})},
        ),
    ]
    for field, expected, definition in cases:
        body = {"code": code("bad"), "name": "Bad", "product_code": product_code, **definition}
        resp = await api.post("/v1/catalog/plans", json=body, headers=operator.post_headers())
        assert resp.status_code == 422, resp.text
        assert [(e["field"], e["code"]) for e in resp.json()["errors"]] == [(field, expected)], resp.json()


async def test_a_call_rate_may_have_8_decimals_not_9(api: httpx.AsyncClient, operator: Tenant) -> None:
    product_code = await product(api, operator)
    await _plan_refused(
        api,
        operator,
        product_code,
        "usage.0.prices.EUR.call.groups.0.rate",
        "price_precision",
        usage=_call({"groups": [_group(rate="0.000000001")]}),
    )
    await plan(api, operator, product_code=product_code, usage=_call({"groups": [_group(rate="0.00000001")]}))


async def test_percentages_and_price_lists_are_bounded(api: httpx.AsyncClient, operator: Tenant) -> None:
    tv = await plan(api, operator, prices={"EUR": "30.00"})
    net = await plan(api, operator, prices={"EUR": "45.00"})
    for value, expected in [
        ("100.5", "percent_out_of_range"),
        ("-1", "percent_out_of_range"),
        ("NaN", "percent_not_finite"),
        ("1e400", "percent_out_of_range"),
        ("10.0000001", "percent_precision"),
    ]:
        body = {"code": code("duo"), "name": "Duo", "plan_codes": [tv, net], "discount_percent": value}
        resp = await api.post("/v1/catalog/bundles", json=body, headers=operator.post_headers())
        problem(resp, expected, "discount_percent")
    for value, expected in [("Infinity", "tax_rate_not_finite"), (THOUSAND_DIGITS, "tax_rate_out_of_range")]:
        body = {"country": "ES", "category": "standard", "percent": value, "name": "IVA"}
        problem(
            await api.post("/v1/catalog/tax-rates", json=body, headers=operator.post_headers()),
            expected,
            "percent",
        )
    for value, expected in BAD_PRICES:
        body = {"code": code("pl"), "country": "ES", "currency": "EUR", "recurring": {tv: value}}
        problem(
            await api.post("/v1/catalog/price-lists", json=body, headers=operator.post_headers()),
            expected,
            f"recurring.{tv}",
        )


async def _quote(
    api: httpx.AsyncClient, tenant: Tenant, bill_day: int | None = None, **item: Any
) -> httpx.Response:
    body = {"currency": "EUR", "bill_day": bill_day, "items": [{"start": "2024-01-01", **item}]}
    return await api.post("/v1/quotes", json=body, headers=tenant.auth)


async def test_quote_quantities_periods_and_calls_are_bounded(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    voice = await plan(
        api,
        operator,
        prices={"EUR": "10.00"},
        usage=[
            *_call({"groups": [_group()]}),
            {"metric": "mb", "prices": {"EUR": {"unit_price": "0.01"}}},
        ],
    )
    daily = await plan(api, operator, prices={"EUR": "1.00"}, billing_period="day")
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"plan": voice, "quantity": 10_001}, "less_than_equal", "items.0.quantity"),
        ({"plan": voice, "quantity": 0}, "greater_than_equal", "items.0.quantity"),
        ({"plan": voice, "periods": 37}, "less_than_equal", "items.0.periods"),
        ({"plan": voice, "usage": {"mb": "1e400"}}, "quantity_too_large", "items.0.usage.mb"),
        ({"plan": voice, "usage": {"mb": "NaN"}}, "quantity_not_finite", "items.0.usage.mb"),
        ({"plan": voice, "usage": {"mb": "-1"}}, "quantity_negative", "items.0.usage.mb"),
        ({"plan": voice, "calls": {"voice": [86_401]}}, "less_than_equal", "items.0.calls.voice.0"),
        ({"plan": voice, "calls": {"voice": [60] * 10_001}}, "too_long", "items.0.calls.voice"),
        ({"plan": daily, "stop": "9999-12-31"}, "date_out_of_range", "items.0.stop"),
        (
            {"plan": daily, "change_to": voice, "change_on": "2024-02-07"},
            "date_out_of_range",
            "items.0.change_on",
        ),
    ]
    for item, expected, field in cases:
        resp = await _quote(api, operator, **item)
        assert resp.status_code == 422, resp.text
        assert [(e["field"], e["code"]) for e in resp.json()["errors"]] == [(field, expected)], resp.json()
    # 10,000 calls in all, spread over items, is the limit of one request
    spread = {
        "currency": "EUR",
        "items": [{"plan": voice, "start": "2024-01-01", "calls": {"voice": [60] * 5_001}}] * 2,
    }
    resp = await api.post("/v1/quotes", json=spread, headers=operator.auth)
    assert resp.status_code == 422 and resp.json()["code"] == "too_many_calls", resp.text
    within = await _quote(api, operator, plan=daily, stop="2024-02-06")  # the 36th day
    assert within.status_code == 200, within.text


async def test_the_largest_price_prices_exactly_through_a_quote(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    top = "10000000000000.00"  # 10^13 EUR: the bound, exactly
    c = await plan(api, operator, prices={"EUR": top})
    resp = await _quote(api, operator, plan=c, start="2024-01-01", periods=1)
    assert resp.status_code == 200, resp.text
    assert [(ln["kind"], ln["amount"]["amount_minor"]) for ln in resp.json()["lines"]] == [
        ("recurring", 10**15)
    ]
    assert resp.json()["totals"]["gross"] == {
        "amount_minor": 10**15,
        "amount": "10000000000000.00",
        "currency": "EUR",
    }
    # prorated over 10 of 31 days: exact to the cent, no float, no overflow
    half = await _quote(api, operator, bill_day=1, plan=c, start="2024-01-22")
    assert half.status_code == 200, half.text
    recurring = [ln for ln in half.json()["lines"] if ln["kind"] == "recurring"]
    assert [ln["amount"]["amount"] for ln in recurring] == ["3225806451612.90"]  # 10^13 * 10 / 31, half up
    # a sum above 10^13 EUR no invoice could carry: refused, not a 500
    over = await _quote(api, operator, plan=c, start="2024-01-01", quantity=2)
    assert over.status_code == 422 and over.json()["code"] == "amount_too_large", over.text


async def test_the_largest_usage_rate_and_quantity_do_not_overflow(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    c = await plan(
        api,
        operator,
        usage=[
            {"metric": "mb", "prices": {"EUR": {"unit_price": "9999999999999.999999"}}},
            *_call(
                {
                    "connect_fee": "9999999999999.99999999",
                    "groups": [_group(rate="9999999999999.99999999", rate_unit=1)],
                }
            ),
        ],
    )
    for item in ({"usage": {"mb": "999999999999.999999"}}, {"calls": {"voice": [86_400] * 3}}):
        resp = await _quote(api, operator, plan=c, **item)
        assert resp.status_code == 422 and resp.json()["code"] == "amount_too_large", resp.text
    small = await _quote(api, operator, plan=c, usage={"mb": "0.000001"})
    assert small.status_code == 200, small.text
    mb = next(ln for ln in small.json()["lines"] if ln["description"].startswith("mb"))
    assert mb["amount"]["amount"] == "10000000.00"  # 9999999999999.999999 * 0.000001 = 9999999.999999999999
