"""Builders for device tests: a catalogue with device products, subscribers, warehouses and stock."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from activities.accounts.organisations import authenticate
from activities.catalog import records as catalog
from activities.devices import traceable as device_store
from activities.devices import warehouse
from domain.catalog import (
    Characteristic,
    DeviceTerms,
    OneOffFee,
    Phase,
    PhaseKind,
    PlanSpec,
    ProductKind,
    ProductSpec,
)
from domain.ids import new_id
from domain.principal import Principal
from models.accounts import Account
from models.base import unit_of_work
from models.subscriptions import Subscription, SubscriptionService
from tests.support.factories import Tenant, make_operator


def code(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Shop:
    tenant: Tenant
    principal: Principal
    box: str  # traceable device product
    cable: str  # non-traceable device product
    model: str  # a device model of ``box``
    plan: str  # a video plan renting ``box``
    warehouse_id: str
    repair_id: str


def principal_of(database_url: str, tenant: Tenant) -> Principal:
    with unit_of_work(database_url) as session:
        found = authenticate(session, tenant.token)
    assert found is not None
    return found


def make_shop(
    database_url: str,
    *,
    max_devices: int | None = None,
    policy: str | None = None,
    damage_fee: str | None = "25.00",
    tenant: Tenant | None = None,
) -> Shop:
    tenant = tenant or make_operator(database_url)
    principal = principal_of(database_url, tenant)
    org = tenant.organisation_id
    box, cable, plan, model = code("stb"), code("hdmi"), code("tv"), code("x1")
    rules: list[Characteristic] = []
    if max_devices is not None:
        rules.append(Characteristic(name="max_devices", type="integer", value=max_devices))
    if policy is not None:
        rules.append(Characteristic(name="device_login_policy", type="string", value=policy))
    fees = (
        []
        if damage_fee is None
        else [OneOffFee(code="device_damage", name="Damaged device", prices={"EUR": Decimal(damage_fee)})]
    )
    with unit_of_work(database_url) as session:
        catalog.add_product(
            session, org, ProductSpec(code=box, name="Box", kind=ProductKind.DEVICE, traceable=True)
        )
        catalog.add_product(session, org, ProductSpec(code=cable, name="Cable", kind=ProductKind.DEVICE))
        video = code("video")
        catalog.add_product(
            session, org, ProductSpec(code=video, name="TV", kind=ProductKind.VIDEO, characteristics=rules)
        )
        spec = PlanSpec(
            code=plan,
            name="TV plan",
            product_code=video,
            phases=[Phase(kind=PhaseKind.EVERGREEN, prices={"EUR": Decimal("20.00")})],
            device=DeviceTerms(product_code=box, mode="rent", prices={"EUR": Decimal("3.00")}),
            one_off_fees=fees,
        )
        catalog.add_plan(session, org, spec, date(2000, 1, 1))
        warehouse.add_device_model(
            session, principal, {"code": model, "product_code": box, "manufacturer": "Acme", "name": "X1"}
        )
        main = warehouse.create_warehouse(session, principal, {"code": code("main"), "name": "Main"})
        repair = warehouse.create_warehouse(
            session, principal, {"code": code("rep"), "name": "Repair", "kind": "repair"}
        )
        return Shop(tenant, principal, box, cable, model, plan, main.id, repair.id)


@dataclass(frozen=True)
class Subscriber:
    account_id: str
    subscription_id: str
    service_id: str


def make_subscriber(
    database_url: str, shop: Shop, *, status: str = "active", organisation_id: str | None = None
) -> Subscriber:
    with unit_of_work(database_url) as session:
        account = Account(
            id=new_id("acc"),
            organisation_id=organisation_id or shop.tenant.organisation_id,
            type="person",
            display_name="Ana Ruiz",
            email=f"{uuid.uuid4().hex[:8]}@example.com",
            currency="EUR",
            timezone="Europe/Madrid",
        )
        session.add(account)
        session.flush()
        subscription = Subscription(
            id=new_id("sub"),
            organisation_id=account.organisation_id,
            account_id=account.id,
            request_id=uuid.uuid4().hex,
            status=status,
            currency="EUR",
            timezone="Europe/Madrid",
            bill_day=1,
            billing_term="in_advance",
            start_date=date(2024, 1, 1),
        )
        session.add(subscription)
        session.flush()
        service_id = new_id("svc")
        service = SubscriptionService(
            id=service_id,
            line_id=service_id,
            subscription_id=subscription.id,
            plan_code=shop.plan,
            plan_version=1,
            product_kind="video",
            role="base",
            status=status,
            started_on=date(2024, 1, 1),
        )
        session.add(service)
        session.flush()
        return Subscriber(account.id, subscription.id, service.id)


def receive(database_url: str, shop: Shop, count: int, *, warehouse_id: str | None = None) -> list[str]:
    """``count`` boxes received into the main warehouse (or another); returns their ids in order."""
    items: list[dict[str, Any]] = [{"serial": code("SN").upper()} for _ in range(count)]
    with unit_of_work(database_url) as session:
        devices = device_store.receive_devices(
            session,
            shop.principal,
            {"warehouse_id": warehouse_id or shop.warehouse_id, "model": shop.model, "items": items},
        )
        return [d.id for d in devices]


def assign(database_url: str, shop: Shop, device_id: str, subscriber: Subscriber) -> None:
    with unit_of_work(database_url) as session:
        device_store.assign_device(session, shop.principal, device_id, {"service_id": subscriber.service_id})


def device_row(database_url: str, device_id: str) -> dict[str, Any]:
    from models.devices import Device

    with unit_of_work(database_url) as session:
        row = session.get(Device, device_id)
        assert row is not None
        return {
            "state": row.state,
            "warehouse_id": row.warehouse_id,
            "subscription_id": row.subscription_id,
            "service_id": row.service_id,
        }
