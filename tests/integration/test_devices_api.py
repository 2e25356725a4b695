"""Warehouses, devices and stock through the API: receive, list, move, assign, state changes, bad input."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from domain.organisations import OrganisationKind, Role
from models.base import unit_of_work
from models.devices import Device, StockMovement
from tests.support.device_support import Shop, code, make_shop, make_subscriber, receive
from tests.support.factories import Tenant, make_child


async def post(api: httpx.AsyncClient, tenant: Tenant, path: str, body: dict[str, Any]) -> httpx.Response:
    return await api.post(path, json=body, headers=tenant.post_headers())


async def receive_serials(api: httpx.AsyncClient, shop: Shop, serials: list[str]) -> httpx.Response:
    items = [{"serial": s, "mac": "aa:bb:cc:00:00:01", "smartcard_id": f"SC-{s}"} for s in serials]
    return await post(
        api,
        shop.tenant,
        "/v1/devices",
        {"warehouse_id": shop.warehouse_id, "model": shop.model, "items": items},
    )


def device_count(database_url: str, operator_id: str) -> int:
    with unit_of_work(database_url) as session:
        return int(
            session.execute(select(func.count()).where(Device.operator_id == operator_id)).scalar_one()
        )


async def test_receive_a_batch_then_list_get_and_see_balances(
    api: httpx.AsyncClient, database_url: str
) -> None:
    shop = make_shop(database_url)
    resp = await receive_serials(api, shop, ["SN-1", "SN-2", "SN-3"])
    assert resp.status_code == 201, resp.text
    devices = resp.json()["data"]
    assert [d["serial"] for d in devices] == ["SN-1", "SN-2", "SN-3"]
    first = devices[0]
    assert first["state"] == "in_stock" and first["warehouse_id"] == shop.warehouse_id
    assert first["mac"] == "AA:BB:CC:00:00:01" and first["smartcard_id"] == "SC-SN-1"
    assert first["product_code"] == shop.box and first["id"].startswith("dev_")

    page = await api.get("/v1/devices", params={"limit": 2, "state": "in_stock"}, headers=shop.tenant.auth)
    body = page.json()
    assert len(body["data"]) == 2 and body["has_more"] is True
    rest = await api.get(
        "/v1/devices", params={"limit": 2, "cursor": body["next_cursor"]}, headers=shop.tenant.auth
    )
    assert len(rest.json()["data"]) == 1 and rest.json()["has_more"] is False
    ids = sorted([d["id"] for d in body["data"]] + [d["id"] for d in rest.json()["data"]])
    assert ids == sorted(d["id"] for d in devices)

    one = await api.get(f"/v1/devices/{first['id']}", headers=shop.tenant.auth)
    assert one.json()["serial"] == "SN-1"
    by_serial = await api.get("/v1/devices", params={"serial": "SN-2"}, headers=shop.tenant.auth)
    assert [d["serial"] for d in by_serial.json()["data"]] == ["SN-2"]

    stock = await api.get("/v1/stock", params={"warehouse_id": shop.warehouse_id}, headers=shop.tenant.auth)
    assert stock.json() == [
        {
            "warehouse_id": shop.warehouse_id,
            "product_code": shop.box,
            "traceable": True,
            "quantity": 3,
            "by_state": {"in_stock": 3},
        }
    ]
    history = await api.get("/v1/stock/movements", params={"kind": "receive"}, headers=shop.tenant.auth)
    moves = history.json()["data"]
    assert len(moves) == 3
    assert {m["actor"] for m in moves} == {shop.principal.key_id}
    assert {m["to_warehouse_id"] for m in moves} == {shop.warehouse_id}


async def test_a_serial_that_exists_refuses_the_whole_batch(
    api: httpx.AsyncClient, database_url: str
) -> None:
    shop = make_shop(database_url)
    assert (await receive_serials(api, shop, ["DUP-1"])).status_code == 201
    resp = await receive_serials(api, shop, ["NEW-1", "DUP-1"])
    assert resp.status_code == 409
    assert resp.json()["code"] == "serial_exists"
    assert resp.json()["detail"] == "serial DUP-1 is already registered"
    assert device_count(database_url, shop.tenant.organisation_id) == 1
    twice = await receive_serials(api, shop, ["X-1", "X-1"])
    assert (twice.status_code, twice.json()["code"]) == (422, "duplicate_serial")
    bad_mac = await post(
        api,
        shop.tenant,
        "/v1/devices",
        {"warehouse_id": shop.warehouse_id, "model": shop.model, "items": [{"serial": "M-1", "mac": "zz"}]},
    )
    assert bad_mac.status_code == 422
    assert device_count(database_url, shop.tenant.organisation_id) == 1


async def test_quantities_receive_transfer_and_never_go_negative(
    api: httpx.AsyncClient, database_url: str
) -> None:
    shop = make_shop(database_url)
    outlet = await post(api, shop.tenant, "/v1/warehouses", {"code": code("o"), "name": "Shop floor"})
    other = outlet.json()["id"]
    got = await post(
        api,
        shop.tenant,
        "/v1/stock/movements",
        {"kind": "receive", "product_code": shop.cable, "quantity": 10, "to_warehouse_id": shop.warehouse_id},
    )
    assert got.status_code == 201, got.text
    moved = await post(
        api,
        shop.tenant,
        "/v1/stock/movements",
        {
            "kind": "transfer",
            "product_code": shop.cable,
            "quantity": 4,
            "from_warehouse_id": shop.warehouse_id,
            "to_warehouse_id": other,
        },
    )
    assert moved.status_code == 201
    assert moved.json()["data"][0]["quantity"] == 4
    too_many = await post(
        api,
        shop.tenant,
        "/v1/stock/movements",
        {
            "kind": "transfer",
            "product_code": shop.cable,
            "quantity": 7,
            "from_warehouse_id": shop.warehouse_id,
            "to_warehouse_id": other,
        },
    )
    assert too_many.status_code == 409
    assert too_many.json()["code"] == "insufficient_stock"
    assert too_many.json()["detail"] == f"warehouse {shop.warehouse_id} holds 6 of {shop.cable}, not 7"
    written_off = await post(
        api,
        shop.tenant,
        "/v1/stock/movements",
        {
            "kind": "write_off",
            "product_code": shop.cable,
            "quantity": 1,
            "from_warehouse_id": other,
            "reason": "broken",
        },
    )
    assert written_off.status_code == 201
    stock = await api.get("/v1/stock", params={"product_code": shop.cable}, headers=shop.tenant.auth)
    quantities = {row["warehouse_id"]: row["quantity"] for row in stock.json()}
    assert quantities == {shop.warehouse_id: 6, other: 3}
    traceable = await post(
        api,
        shop.tenant,
        "/v1/stock/movements",
        {"kind": "receive", "product_code": shop.box, "quantity": 1, "to_warehouse_id": shop.warehouse_id},
    )
    assert (traceable.status_code, traceable.json()["code"]) == (422, "wrong_tracking")


async def test_transfer_devices_and_assign_only_what_is_in_stock(
    api: httpx.AsyncClient, database_url: str
) -> None:
    shop = make_shop(database_url)
    first, second = receive(database_url, shop, 2)
    subscriber = make_subscriber(database_url, shop)
    moved = await post(
        api,
        shop.tenant,
        "/v1/stock/movements",
        {"kind": "transfer", "device_ids": [first], "to_warehouse_id": shop.repair_id},
    )
    assert moved.status_code == 201, moved.text
    assert (await api.get(f"/v1/devices/{first}", headers=shop.tenant.auth)).json()[
        "warehouse_id"
    ] == shop.repair_id

    assigned = await post(
        api, shop.tenant, f"/v1/devices/{second}/assign", {"service_id": subscriber.service_id}
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["state"] == "assigned"
    assert assigned.json()["warehouse_id"] is None
    assert assigned.json()["subscription_id"] == subscriber.subscription_id
    again = await post(
        api, shop.tenant, f"/v1/devices/{second}/assign", {"service_id": subscriber.service_id}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "device_not_available"
    assert again.json()["detail"] == f"device {second} is assigned, not in stock"
    transfer_assigned = await post(
        api,
        shop.tenant,
        "/v1/stock/movements",
        {"kind": "transfer", "device_ids": [first, second], "to_warehouse_id": shop.warehouse_id},
    )
    assert transfer_assigned.status_code == 409
    # all or nothing: the first device did not move either
    assert (await api.get(f"/v1/devices/{first}", headers=shop.tenant.auth)).json()[
        "warehouse_id"
    ] == shop.repair_id

    back = await post(
        api,
        shop.tenant,
        f"/v1/devices/{second}/return",
        {"warehouse_id": shop.repair_id, "state": "in_repair"},
    )
    assert back.json()["state"] == "in_repair" and back.json()["subscription_id"] is None


async def test_state_changes_follow_the_device_life(api: httpx.AsyncClient, database_url: str) -> None:
    shop = make_shop(database_url)
    (device,) = receive(database_url, shop, 1)
    lost = await post(
        api, shop.tenant, f"/v1/devices/{device}/state", {"state": "lost_stolen", "reason": "van"}
    )
    assert lost.status_code == 200
    assert lost.json()["state"] == "lost_stolen" and lost.json()["warehouse_id"] is None
    found = await post(
        api, shop.tenant, f"/v1/devices/{device}/state", {"state": "in_stock", "warehouse_id": shop.repair_id}
    )
    assert found.json()["state"] == "in_stock" and found.json()["warehouse_id"] == shop.repair_id
    retired = await post(api, shop.tenant, f"/v1/devices/{device}/state", {"state": "retired"})
    assert retired.json()["state"] == "retired"
    revive = await post(api, shop.tenant, f"/v1/devices/{device}/state", {"state": "in_stock"})
    assert revive.status_code == 409
    assert revive.json()["code"] == "invalid_device_state"
    with unit_of_work(database_url) as session:
        kinds = session.execute(
            select(StockMovement.kind, StockMovement.from_state, StockMovement.to_state)
            .where(StockMovement.device_id == device)
            .order_by(StockMovement.id)
        ).all()
    assert [tuple(k) for k in kinds] == [
        ("receive", None, "in_stock"),
        ("state_change", "in_stock", "lost_stolen"),
        ("state_change", "lost_stolen", "in_stock"),
        ("state_change", "in_stock", "retired"),
    ]


async def test_an_outlet_agent_sees_its_outlet_stock_only(api: httpx.AsyncClient, database_url: str) -> None:
    shop = make_shop(database_url)
    outlet_admin = make_child(database_url, shop.tenant.organisation_id, kind=OrganisationKind.OUTLET)
    created = await post(
        api,
        shop.tenant,
        "/v1/warehouses",
        {"code": code("store"), "name": "Outlet stock", "organisation_id": outlet_admin.organisation_id},
    )
    assert created.status_code == 201 and created.json()["kind"] == "outlet"
    store = created.json()["id"]
    receive(database_url, shop, 2)
    (at_outlet,) = receive(database_url, shop, 1, warehouse_id=store)
    agent = make_child(
        database_url, shop.tenant.organisation_id, kind=OrganisationKind.OUTLET, role=Role.AGENT
    )
    sibling = (await api.get("/v1/devices", headers=agent.auth)).json()["data"]
    assert sibling == []
    with unit_of_work(database_url) as session:
        from models.organisations import ApiKey

        key = session.execute(
            select(ApiKey).where(ApiKey.organisation_id == outlet_admin.organisation_id)
        ).scalar_one()
        key.role = "agent"
    mine = (await api.get("/v1/devices", headers=outlet_admin.auth)).json()["data"]
    assert [d["id"] for d in mine] == [at_outlet]
    warehouses = (await api.get("/v1/warehouses", headers=outlet_admin.auth)).json()
    assert [w["id"] for w in warehouses] == [store]
    hidden = await api.get(f"/v1/stock?warehouse_id={shop.warehouse_id}", headers=outlet_admin.auth)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "warehouse_not_found")
    refused = await post(api, outlet_admin, "/v1/warehouses", {"code": code("x"), "name": "Mine"})
    assert refused.status_code == 403


async def test_a_device_reaching_or_leaving_a_subscriber_is_an_event_of_the_subscribers_organisation(
    api: httpx.AsyncClient, database_url: str
) -> None:
    shop = make_shop(database_url)
    box, spare = receive(database_url, shop, 2)
    subscriber = make_subscriber(database_url, shop)
    for device in (box, spare):
        assigned = await post(
            api, shop.tenant, f"/v1/devices/{device}/assign", {"service_id": subscriber.service_id}
        )
        assert assigned.status_code == 200, assigned.text
    back = await post(
        api, shop.tenant, f"/v1/devices/{box}/return", {"warehouse_id": shop.repair_id, "state": "in_repair"}
    )
    assert back.status_code == 200, back.text
    lost = await post(
        api, shop.tenant, f"/v1/devices/{spare}/state", {"state": "lost_stolen", "reason": "van"}
    )
    assert lost.status_code == 200, lost.text

    async def events(device: str) -> list[tuple[str, dict[str, Any]]]:
        resp = await api.get(
            "/v1/events", headers=shop.tenant.auth, params={"object_id": device, "limit": 10}
        )
        assert resp.status_code == 200, resp.text
        return sorted((e["type"], e["data"]) for e in resp.json()["data"])

    with unit_of_work(database_url) as session:
        movements = dict(
            session.execute(
                select(StockMovement.to_state, StockMovement.id).where(StockMovement.device_id == box)
            ).all()
        )
    boxed = await events(box)
    assert [t for t, _ in boxed] == ["device.dispatched", "device.returned"]
    dispatched, returned = boxed[0][1], boxed[1][1]
    assert dispatched["state"] == "assigned" and dispatched["warehouse_id"] is None
    assert dispatched["subscription_id"] == subscriber.subscription_id
    assert dispatched["movement_id"] == movements["assigned"]
    assert (returned["state"], returned["warehouse_id"]) == ("in_repair", shop.repair_id)
    assert returned["subscription_id"] == subscriber.subscription_id  # the subscription it left
    assert returned["movement_id"] == movements["in_repair"]
    spared = await events(spare)
    assert [t for t, _ in spared] == ["device.dispatched", "device.lost_stolen"]
    assert spared[1][1]["reason"] == "van" and spared[1][1]["serial"]
