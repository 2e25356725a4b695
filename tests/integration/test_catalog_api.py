"""The catalogue API: what operators sell, versioned; every bad definition refused with nothing saved."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from domain.organisations import OrganisationKind, Role
from models.base import engine_for
from tests.support.catalog_factory import code, plan, post, product
from tests.support.factories import Tenant, make_child, make_operator


def plans_saved(database_url: str, org_id: str) -> int:
    with engine_for(database_url).connect() as conn:
        return int(
            conn.execute(
                sa.text("select count(*) from catalog_plans where organisation_id=:o"), {"o": org_id}
            ).scalar_one()
        )


async def refused(
    api: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, Any], problem: str
) -> None:
    resp = await api.post(path, json=body, headers=tenant.post_headers())
    assert resp.status_code == 422, resp.text
    assert resp.json()["code"] == problem, resp.json()
    assert resp.json()["detail"]


async def test_products_with_typed_characteristics(api: httpx.AsyncClient, operator: Tenant) -> None:
    body = {
        "code": code("fibre"),
        "name": "Fibre 600",
        "kind": "broadband",
        "characteristics": [
            {"name": "download_speed", "type": "integer", "value": 600, "unit": "Mbit/s"},
            {"name": "channel_packs", "type": "list", "value": ["sports", "kids"]},
        ],
    }
    created = await post(api, operator, "/v1/catalog/products", body)
    assert created["id"].startswith("prd_") and created["characteristics"][0]["value"] == 600
    await refused(
        api,
        operator,
        "/v1/catalog/products",
        {**body, "code": code("x"), "characteristics": [{"name": "speed", "type": "integer", "value": "x"}]},
        "characteristic_type",
    )
    again = await api.post("/v1/catalog/products", json=body, headers=operator.post_headers())
    assert again.status_code == 409 and again.json()["code"] == "already_exists"


async def test_plan_with_phases_fees_device_and_addons(api: httpx.AsyncClient, operator: Tenant) -> None:
    router = await product(api, operator, "device", traceable=True)
    addon = await plan(
        api,
        operator,
        role="addon",
        prices={"EUR": "5.00"},
        product_code=await product(api, operator, "video"),
    )
    sports = await plan(
        api,
        operator,
        role="addon",
        prices={"EUR": "9.99"},
        product_code=await product(api, operator, "video"),
    )
    base = await plan(
        api,
        operator,
        phases=[
            {"kind": "trial", "duration": {"unit": "month", "count": 1}},
            {"kind": "discount", "duration": {"unit": "month", "count": 2}, "prices": {"EUR": "20.00"}},
            {"kind": "evergreen", "prices": {"EUR": "40.00"}},
        ],
        one_off_fees=[{"code": "install", "name": "Installation", "prices": {"EUR": "49.00"}}],
        device={"product_code": router, "mode": "rent", "prices": {"EUR": "3.00"}},
        addons=[{"plan_code": addon, "rule": "included"}, {"plan_code": sports, "rule": "allowed"}],
    )
    resp = await api.post(
        "/v1/quotes",
        headers=operator.auth,
        json={
            "currency": "EUR",
            "items": [{"plan": base, "start": "2024-01-01", "periods": 4, "addons": [addon, sports]}],
        },
    )
    assert resp.status_code == 200, resp.text
    lines = [
        (ln["kind"], ln["plan"], ln["service_start"], ln["amount"]["amount"]) for ln in resp.json()["lines"]
    ]
    assert ("one_off", base, "2024-01-01", "49.00") in lines
    assert [a for k, p, _, a in lines if k == "recurring" and p == base] == [
        "0.00",
        "20.00",
        "20.00",
        "40.00",
    ]
    assert [a for k, _, _, a in lines if k == "device_rental"] == ["3.00"] * 4
    assert [a for k, p, _, a in lines if p == addon] == ["0.00"] * 4  # included in the base plan
    assert [a for k, p, _, a in lines if p == sports] == ["9.99"] * 4
    not_allowed = await api.post(
        "/v1/quotes",
        headers=operator.auth,
        json={"currency": "EUR", "items": [{"plan": base, "start": "2024-01-01", "addons": [base]}]},
    )
    assert not_allowed.status_code == 422 and not_allowed.json()["code"] == "addon_not_allowed"


async def test_required_addon_and_wrong_currency(api: httpx.AsyncClient, operator: Tenant) -> None:
    line = await plan(api, operator, role="addon", prices={"EUR": "2.00"})
    base = await plan(
        api, operator, prices={"EUR": "30.00"}, addons=[{"plan_code": line, "rule": "required"}]
    )
    missing = await api.post(
        "/v1/quotes",
        headers=operator.auth,
        json={"currency": "EUR", "items": [{"plan": base, "start": "2024-01-01"}]},
    )
    assert missing.status_code == 422 and missing.json()["code"] == "addon_required"
    usd = await api.post(
        "/v1/quotes",
        headers=operator.auth,
        json={"currency": "USD", "items": [{"plan": base, "start": "2024-01-01", "addons": [line]}]},
    )
    assert usd.status_code == 422 and usd.json()["code"] == "currency_not_priced"


async def test_on_demand_rental_and_device_sale(api: httpx.AsyncClient, operator: Tenant) -> None:
    film = await plan(
        api,
        operator,
        product_code=await product(api, operator, "video"),
        access_hours=48,
        on_demand_prices={"EUR": "4.99"},
    )
    box = await product(api, operator, "device")
    sale = await plan(
        api,
        operator,
        prices={"EUR": "10.00"},
        device={"product_code": box, "mode": "sell", "prices": {"EUR": "89.00"}},
    )
    q = (
        await api.post(
            "/v1/quotes",
            headers=operator.auth,
            json={
                "currency": "EUR",
                "items": [{"plan": film, "start": "2024-03-01"}, {"plan": sale, "start": "2024-03-01"}],
            },
        )
    ).json()
    kinds = {ln["kind"]: ln for ln in q["lines"]}
    assert (
        kinds["on_demand"]["amount"]["amount"] == "4.99" and kinds["on_demand"]["service_end"] == "2024-03-03"
    )
    assert kinds["device_sale"]["amount"]["amount"] == "89.00"
    assert q["totals"]["gross"]["amount"] == "103.99"


async def test_bundle_discount(api: httpx.AsyncClient, operator: Tenant) -> None:
    tv = await plan(api, operator, prices={"EUR": "30.00"})
    net = await plan(api, operator, prices={"EUR": "45.00"})
    bundle = code("duo")
    await post(
        api,
        operator,
        "/v1/catalog/bundles",
        {"code": bundle, "name": "TV + Internet", "plan_codes": [tv, net], "discount_percent": "10"},
    )
    q = (
        await api.post(
            "/v1/quotes",
            headers=operator.auth,
            json={
                "currency": "EUR",
                "items": [
                    {"plan": tv, "start": "2024-01-01", "bundle": bundle},
                    {"plan": net, "start": "2024-01-01", "bundle": bundle},
                ],
            },
        )
    ).json()
    assert q["totals"]["gross"]["amount"] == "67.50"
    await refused(
        api,
        operator,
        "/v1/catalog/bundles",
        {"code": code("bad"), "name": "x", "plan_codes": [tv, "no-such-plan"]},
        "unknown_plan",
    )


async def test_versions_take_effect_on_a_date(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    product_code = await product(api, operator)
    c = code("fibre")
    base = {
        "code": c,
        "name": "Fibre",
        "product_code": product_code,
        "phases": [{"kind": "evergreen", "prices": {"EUR": "30.00"}}],
    }
    await post(api, operator, "/v1/catalog/plans", {**base, "effective_from": "2024-01-01"})
    v2 = await post(
        api,
        operator,
        f"/v1/catalog/plans/{c}/versions",
        {
            **base,
            "phases": [{"kind": "evergreen", "prices": {"EUR": "35.00"}}],
            "effective_from": "2024-06-01",
            "existing_subscribers_until": "2024-12-01",
        },
    )
    assert v2["version"] == 2 and v2["existing_subscribers_until"] == "2024-12-01"
    versions = (await api.get(f"/v1/catalog/plans/{c}", headers=operator.auth)).json()["versions"]
    assert [(v["version"], v["phases"][0]["prices"]["EUR"]) for v in versions] == [(1, "30.00"), (2, "35.00")]

    async def price_on(day: str) -> str:
        q = (
            await api.post(
                "/v1/quotes",
                headers=operator.auth,
                json={"currency": "EUR", "bill_day": 1, "items": [{"plan": c, "start": day}]},
            )
        ).json()
        return str(q["lines"][0]["unit_price"])

    assert await price_on("2024-05-01") == "30.00"
    assert await price_on("2024-06-01") == "35.00"
    early = await api.post(
        "/v1/quotes",
        headers=operator.auth,
        json={"currency": "EUR", "items": [{"plan": c, "start": "2023-01-01"}]},
    )
    assert early.status_code == 422 and early.json()["code"] == "plan_not_yet_effective"
    await refused(
        api,
        operator,
        f"/v1/catalog/plans/{c}/versions",
        {**base, "effective_from": "2024-03-01"},
        "effective_date_not_after",
    )
    assert plans_saved(database_url, operator.organisation_id) == 2


async def test_bad_definitions_are_refused_and_nothing_saved(
    api: httpx.AsyncClient, operator: Tenant, database_url: str
) -> None:
    product_code = await product(api, operator)
    before = plans_saved(database_url, operator.organisation_id)

    def body(**extra: Any) -> dict[str, Any]:
        return {"code": code("bad"), "name": "Bad", "product_code": product_code, **extra}

    cases = {
        "phases_overlap": body(
            phases=[
                {"kind": "discount", "prices": {"EUR": "1.00"}},
                {"kind": "evergreen", "prices": {"EUR": "2.00"}},
            ]
        ),
        "tier_gap": body(
            usage=[
                {
                    "metric": "mb",
                    "model": "graduated",
                    "prices": {
                        "EUR": {
                            "tiers": [
                                {"up_to": None, "unit_price": "0.10"},
                                {"up_to": "100", "unit_price": "0.05"},
                            ]
                        }
                    },
                }
            ]
        ),
        "tier_bounds_descending": body(
            usage=[
                {
                    "metric": "mb",
                    "model": "volume",
                    "prices": {
                        "EUR": {
                            "tiers": [
                                {"up_to": "100", "unit_price": "0.10"},
                                {"up_to": "50", "unit_price": "0.05"},
                                {"up_to": None, "unit_price": "0.01"},
                            ]
                        }
                    },
                }
            ]
        ),
        "currency_precision": body(phases=[{"kind": "evergreen", "prices": {"JPY": "100.5"}}]),
        "currency_unknown": body(phases=[{"kind": "evergreen", "prices": {"EUX": "1.00"}}]),
        "unknown_addon_plan": body(
            phases=[{"kind": "evergreen", "prices": {"EUR": "1.00"}}],
            addons=[{"plan_code": "missing-plan", "rule": "allowed"}],
        ),
        "phase_order": body(
            phases=[
                {"kind": "discount", "duration": {"unit": "month", "count": 1}, "prices": {"EUR": "1.00"}},
                {"kind": "trial"},
            ]
        ),
    }
    for problem, definition in cases.items():
        await refused(api, operator, "/v1/catalog/plans", definition, problem)
    await refused(
        api,
        operator,
        "/v1/catalog/tax-rates",
        {"country": "ES", "category": "standard", "percent": "121", "name": "x"},
        "tax_rate_out_of_range",
    )
    await refused(
        api,
        operator,
        "/v1/catalog/price-lists",
        {"code": code("pl"), "country": "ES", "currency": "KWD", "recurring": {"x": "1.0001"}},
        "currency_precision",
    )
    missing_product = await api.post(
        "/v1/catalog/plans",
        headers=operator.post_headers(),
        json=body(product_code="nope", phases=[{"kind": "evergreen", "prices": {"EUR": "1.00"}}]),
    )
    assert missing_product.status_code == 404 and missing_product.json()["code"] == "product_not_found"
    assert plans_saved(database_url, operator.organisation_id) == before


async def test_only_operator_admins_write_the_catalogue(api: httpx.AsyncClient, database_url: str) -> None:
    operator = make_operator(database_url)
    agent = make_operator(database_url, role=Role.AGENT)
    partner_admin = make_child(database_url, operator.organisation_id, kind=OrganisationKind.PARTNER)
    body = {"code": code("p"), "name": "P", "kind": "video"}
    assert (
        await api.post("/v1/catalog/products", json=body, headers=agent.post_headers())
    ).status_code == 403
    denied = await api.post("/v1/catalog/products", json=body, headers=partner_admin.post_headers())
    assert denied.status_code == 403
    # A partner sells from its operator's catalogue.
    created = await post(api, operator, "/v1/catalog/products", body)
    listed = (await api.get("/v1/catalog/products", headers=partner_admin.auth)).json()["data"]
    assert [p["id"] for p in listed] == [created["id"]]
    other = make_operator(database_url)
    assert (await api.get("/v1/catalog/products", headers=other.auth)).json()["data"] == []


async def test_quote_bad_input(api: httpx.AsyncClient, operator: Tenant) -> None:
    c = await plan(api, operator, prices={"EUR": "10.00"})
    cases = [
        ({"items": [{"plan": c, "start": "2024-01-01"}]}, "validation_error"),
        ({"currency": "EUR", "items": [{"plan": "nope", "start": "2024-01-01"}]}, "plan_not_found"),
        (
            {"currency": "EUR", "items": [{"plan": c, "start": "2024-01-10", "stop": "2024-01-01"}]},
            "date_before_start",
        ),
        (
            {"currency": "EUR", "items": [{"plan": c, "start": "2024-01-10", "change_on": "2024-02-01"}]},
            "change_incomplete",
        ),
        (
            {"currency": "EUR", "items": [{"plan": c, "start": "2024-01-01", "usage": {"minutes": "5"}}]},
            "usage_metric_unknown",
        ),
        ({"currency": "EUR", "items": []}, "validation_error"),
    ]
    for body, problem in cases:
        resp = await api.post("/v1/quotes", json=body, headers=operator.auth)
        assert resp.status_code in (404, 422), resp.text
        assert resp.json()["code"] == problem, (body, resp.json())
    stop = (
        await api.post(
            "/v1/quotes",
            headers=operator.auth,
            json={"currency": "EUR", "items": [{"plan": c, "start": "2024-01-01", "stop": "2024-01-21"}]},
        )
    ).json()
    assert [(ln["kind"], ln["amount"]["amount"]) for ln in stop["lines"]] == [
        ("recurring", "10.00"),
        ("credit", "-3.55"),
    ]  # 11/31 of 10.00 credited


async def test_quote_takes_the_regions_own_tax_rate_over_the_countrys(
    api: httpx.AsyncClient, operator: Tenant
) -> None:
    for rate in (
        {"country": "ES", "category": "standard", "percent": "21", "name": "IVA"},
        {"country": "ES", "region": "CN", "category": "standard", "percent": "7", "name": "IGIC"},
        {"country": "ES", "region": "PM", "category": "standard", "percent": "4", "name": "other region"},
    ):
        await post(api, operator, "/v1/catalog/tax-rates", rate)
    c = await plan(api, operator, prices={"EUR": "100.00"})

    async def taxes(**where: str) -> list[tuple[str, str, str]]:
        body = {"currency": "EUR", "country": "ES", **where, "items": [{"plan": c, "start": "2024-01-01"}]}
        resp = await api.post("/v1/quotes", json=body, headers=operator.auth)
        assert resp.status_code == 200, resp.text
        return [(t["code"], t["percent"], t["tax"]["amount"]) for t in resp.json()["taxes"]]

    assert await taxes() == [("ES-standard", "21", "21.00")]
    assert await taxes(region="CN") == [("ES-CN-standard", "7", "7.00")]
    assert await taxes(region="GC") == [("ES-standard", "21", "21.00")]  # no rate of its own
    untaxed = await taxes(country="PT")
    assert untaxed == [("none", "0", "0.00")]
