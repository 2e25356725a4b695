"""The demo operator's catalogue, so a new user of `multibill up` has something to sell at once.

A TV plan (with a sports add-on), fibre broadband renting a router (20 routers in stock), a telephony
plan with 100 included minutes and a per-second call tariff, a fibre + TV bundle, and Spanish VAT.
Everything goes through the transaction scripts the API uses; an item that exists already is kept as
it is, so seeding twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from activities.catalog import records as catalog
from activities.devices import traceable as device_store
from activities.devices import warehouse
from domain.catalog import (
    AddonRule,
    BundleSpec,
    CallTariff,
    Characteristic,
    DeviceTerms,
    Phase,
    PhaseKind,
    PlanSpec,
    ProductKind,
    ProductSpec,
    RateGroupSpec,
    TaxRateSpec,
    UsageCharge,
    UsagePrice,
)
from domain.errors import Conflict
from domain.organisations import Role
from domain.principal import Principal
from models.organisations import Organisation

EFFECTIVE_FROM = date(2000, 1, 1)
ROUTERS = 20
WAREHOUSE = "demo-main"
ROUTER_MODEL = "demo-router-ax3000"


def _eur(amount: str) -> dict[str, Decimal]:
    return {"EUR": Decimal(amount)}


def _monthly(amount: str) -> list[Phase]:
    return [Phase(kind=PhaseKind.EVERGREEN, prices=_eur(amount))]


PRODUCTS = [
    ProductSpec(
        code="demo-tv",
        name="Television",
        kind=ProductKind.VIDEO,
        characteristics=[Characteristic(name="channel_packs", type="list", value=["basic"])],
    ),
    ProductSpec(
        code="demo-sports",
        name="Sports channels",
        kind=ProductKind.VIDEO,
        characteristics=[Characteristic(name="channel_packs", type="list", value=["sports"])],
    ),
    ProductSpec(
        code="demo-fibre",
        name="Fibre broadband",
        kind=ProductKind.BROADBAND,
        characteristics=[
            Characteristic(name="download_speed", type="integer", value=600, unit="Mbit/s"),
            Characteristic(name="upload_speed", type="integer", value=600, unit="Mbit/s"),
        ],
    ),
    ProductSpec(code="demo-router", name="Wi-Fi router", kind=ProductKind.DEVICE, traceable=True),
    ProductSpec(code="demo-voice", name="Fixed telephony", kind=ProductKind.TELEPHONY),
]
CALLS = CallTariff(  # 0.05 a call + 0.02 a minute, per second
    connect_fee=Decimal("0.05"),
    groups=[RateGroupSpec(start=0, rate=Decimal("0.02"), rate_unit=60, increment=1)],
)
PLANS = [  # add-ons first: a base plan's add-on rules must name existing plans
    PlanSpec(
        code="demo-sports", name="Sports pack", product_code="demo-sports", role="addon",
        phases=_monthly("9.99"),
    ),
    PlanSpec(
        code="demo-tv-basic", name="TV Basic", product_code="demo-tv", phases=_monthly("15.00"),
        addons=[AddonRule(plan_code="demo-sports", rule="allowed")],
    ),
    PlanSpec(
        code="demo-fibre-600", name="Fibre 600 Mb", product_code="demo-fibre", phases=_monthly("30.00"),
        device=DeviceTerms(product_code="demo-router", mode="rent", prices=_eur("3.00")),
    ),
    PlanSpec(
        code="demo-voice", name="Home phone", product_code="demo-voice", phases=_monthly("5.00"),
        usage=[
            UsageCharge(
                metric="voice", unit="minute", model="call", included=Decimal(100),
                prices={"EUR": UsagePrice(call=CALLS)},
            )
        ],
    ),
]  # fmt: skip
BUNDLES = [
    BundleSpec(
        code="demo-home",
        name="Fibre + TV",
        plan_codes=["demo-fibre-600", "demo-tv-basic"],
        discount_percent=Decimal(10),
    )
]
TAX_RATES = [TaxRateSpec(country="ES", category="standard", percent=Decimal(21), name="IVA 21%")]


def _once(make: Callable[[], Any]) -> int:
    """1 when ``make`` created its item, 0 when the item exists already."""
    try:
        make()
    except Conflict:
        return 0
    return 1


def _stock(session: Session, principal: Principal) -> int:
    added = _once(
        lambda: warehouse.add_device_model(
            session,
            principal,
            {"code": ROUTER_MODEL, "product_code": "demo-router", "manufacturer": "Demo", "name": "AX3000"},
        )
    )
    main_fields = {"code": WAREHOUSE, "name": "Main"}
    added += _once(lambda: warehouse.create_warehouse(session, principal, main_fields))
    main = next(w for w in warehouse.list_warehouses(session, principal) if w.code == WAREHOUSE)
    items = [{"serial": f"DEMO-RTR-{n:04d}"} for n in range(1, ROUTERS + 1)]
    fields = {"warehouse_id": main.id, "model": ROUTER_MODEL, "items": items}
    return added + _once(lambda: device_store.receive_devices(session, principal, fields))


def seed_demo_catalogue(session: Session, operator: Organisation) -> int:
    """Create what is missing of the demo catalogue; the number of items created (0 the second time)."""
    org = operator.id
    principal = Principal("seed", org, operator.path, Role.ADMIN)
    makers: list[Callable[[], Any]] = [
        *(partial(catalog.add_product, session, org, spec) for spec in PRODUCTS),
        *(partial(catalog.add_tax_rate, session, org, rate) for rate in TAX_RATES),
        *(partial(catalog.add_plan, session, org, plan, EFFECTIVE_FROM) for plan in PLANS),
        *(partial(catalog.add_bundle, session, org, bundle) for bundle in BUNDLES),
    ]
    return sum(_once(make) for make in makers) + _stock(session, principal)
