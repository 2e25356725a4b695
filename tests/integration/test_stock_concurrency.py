"""Concurrent reservations and write-offs are serialised: no device twice, no stock below zero."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from activities.devices import warehouse
from activities.devices.activities import DeviceActivities
from activities.devices.io import ReservedDevice, ReserveDeviceInput
from models.base import unit_of_work
from models.devices import StockBalance
from runtime.settings import Settings
from tests.support.device_support import make_shop, make_subscriber, receive


def test_parallel_reservations_never_share_a_device(settings: Settings) -> None:
    db = settings.database_url or ""
    shop = make_shop(db)
    stock = set(receive(db, shop, 3))
    subscribers = [make_subscriber(db, shop) for _ in range(6)]
    acts = DeviceActivities(settings)

    def reserve(index: int) -> ReservedDevice | str:
        who = subscribers[index]
        try:
            return acts.reserve_device(
                ReserveDeviceInput(
                    idempotency_key=f"par-{uuid.uuid4().hex}",
                    operator_id=shop.tenant.organisation_id,
                    subscription_id=who.subscription_id,
                    service_id=who.service_id,
                    product_code=shop.box,
                    actor=shop.principal.key_id,
                )
            )
        except Exception as exc:
            return str(getattr(exc, "type", exc))

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(reserve, range(6)))
    reserved = [o.device_id for o in outcomes if isinstance(o, ReservedDevice)]
    assert sorted(reserved) == sorted(stock)
    assert sorted(o for o in outcomes if isinstance(o, str)) == ["out_of_stock"] * 3


def test_parallel_write_offs_stop_at_zero(settings: Settings) -> None:
    db = settings.database_url or ""
    shop = make_shop(db)
    with unit_of_work(db) as session:
        warehouse.move_quantity(
            session,
            shop.principal,
            {
                "kind": "receive",
                "product_code": shop.cable,
                "quantity": 10,
                "to_warehouse_id": shop.warehouse_id,
            },
        )

    def write_off(_: int) -> str:
        try:
            with unit_of_work(db) as session:
                warehouse.move_quantity(
                    session,
                    shop.principal,
                    {
                        "kind": "write_off",
                        "product_code": shop.cable,
                        "quantity": 1,
                        "from_warehouse_id": shop.warehouse_id,
                    },
                )
        except Exception as exc:
            return str(getattr(exc, "code", exc))
        return "ok"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(write_off, range(15)))
    assert sorted(outcomes) == ["insufficient_stock"] * 5 + ["ok"] * 10
    with unit_of_work(db) as session:
        row = session.get(StockBalance, (shop.warehouse_id, shop.cable))
        assert row is not None and row.quantity == 0
