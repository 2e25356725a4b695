"""DeviceSwap on the time-skipping server: the happy paths, and the saga undoing what was done."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.devices.activities import DeviceActivities
from activities.devices.io import DeviceFeeInput, DeviceFeeRecorded, ReserveDeviceInput
from api.routes.device_swap import swap_input
from api.schemas.devices import SwapRequest
from domain.devices import SwapReason
from models.base import unit_of_work
from models.devices import StockMovement
from models.subscriptions import PendingCharge
from runtime.settings import Settings
from tests.support.device_support import (
    Shop,
    Subscriber,
    assign,
    device_row,
    make_shop,
    make_subscriber,
    receive,
)
from tests.support.smtp import SmtpSink
from tests.support.swap_worker import FakeOtt, worker
from workflows.device_swap import DeviceSwapInput, DeviceSwapResult, DeviceSwapWorkflow, SwapStatus


@activity.defn(name="record_device_fee")
def broken_fee(request: DeviceFeeInput) -> DeviceFeeRecorded:
    raise ApplicationError("billing is closed", type="BillingClosed", non_retryable=True)


def setup(database_url: str, *, spare: int = 1) -> tuple[Shop, Subscriber, str, list[str]]:
    shop = make_shop(database_url)
    subscriber = make_subscriber(database_url, shop)
    old, *spares = receive(database_url, shop, 1 + spare)
    assign(database_url, shop, old, subscriber)
    return shop, subscriber, old, spares


def start_input(database_url: str, shop: Shop, device_id: str, reason: str, **extra: Any) -> DeviceSwapInput:
    with unit_of_work(database_url) as session:
        return swap_input(session, shop.principal, device_id, SwapRequest(reason=SwapReason(reason), **extra))


async def run(env: WorkflowEnvironment, queue: str, request: DeviceSwapInput) -> tuple[str, Any]:
    wid = f"device-swap-test-{uuid.uuid4().hex[:8]}"
    handle = await env.client.start_workflow(DeviceSwapWorkflow.run, request, id=wid, task_queue=queue)
    try:
        return wid, await handle.result()
    except WorkflowFailureError as err:
        status = await handle.query(DeviceSwapWorkflow.status)
        return wid, (err, status)


def serial_of(database_url: str, device_id: str) -> str:
    from models.devices import Device

    with unit_of_work(database_url) as session:
        row = session.get(Device, device_id)
        assert row is not None
        return row.serial


def movements(database_url: str, device_id: str) -> list[tuple[str, str | None, str | None]]:
    with unit_of_work(database_url) as session:
        rows = session.execute(
            select(StockMovement).where(StockMovement.device_id == device_id).order_by(StockMovement.at)
        ).scalars()
        return [(m.kind, m.from_state, m.to_state) for m in rows]


async def test_damaged_box_is_swapped_and_charged(
    time_skipping_env: WorkflowEnvironment, settings: Settings, smtp_server: SmtpSink
) -> None:
    db = settings.database_url or ""
    shop, subscriber, old, (spare,) = setup(db)
    adapter = FakeOtt()
    async with worker(time_skipping_env, settings, adapter) as queue:
        wid, result = await run(time_skipping_env, queue, start_input(db, shop, old, "damaged"))
    assert isinstance(result, DeviceSwapResult)
    assert (result.old_device_id, result.old_state, result.new_device_id, result.new_state) == (
        old,
        "in_repair",
        spare,
        "assigned",
    )
    assert (result.fee_amount_minor, result.currency) == (2500, "EUR")
    assert adapter.calls == [
        ("terminate", serial_of(db, old), "remove"),
        ("activate", serial_of(db, spare), "install"),
    ]
    assert device_row(db, old) == {
        "state": "in_repair",
        "warehouse_id": shop.warehouse_id,
        "subscription_id": None,
        "service_id": None,
    }
    assert device_row(db, spare) == {
        "state": "assigned",
        "warehouse_id": None,
        "subscription_id": subscriber.subscription_id,
        "service_id": subscriber.service_id,
    }
    with unit_of_work(db) as session:
        charge = session.execute(
            select(PendingCharge).where(PendingCharge.idempotency_key == f"{wid}:fee")
        ).scalar_one()
        assert (charge.id, charge.amount_minor, charge.currency, charge.unit_price, charge.kind) == (
            result.charge_id,
            2500,
            "EUR",
            "25.00",
            "device_fee",
        )
        assert charge.subscription_id == subscriber.subscription_id
    assert movements(db, spare) == [
        ("receive", None, "in_stock"),
        ("reserve", "in_stock", "reserved"),
        ("dispatch", "reserved", "assigned"),
    ]
    notices = [m for m in smtp_server.messages if subscriber.subscription_id in (m["Subject"] or "")]
    assert [m["Subject"].rsplit(": ", 1)[1] for m in notices] == ["device_swapped"]


async def test_stolen_router_goes_lost_without_a_fee(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    db = settings.database_url or ""
    shop, subscriber, old, (_spare,) = setup(db)
    async with worker(time_skipping_env, settings, FakeOtt()) as queue:
        _, result = await run(time_skipping_env, queue, start_input(db, shop, old, "stolen"))
    assert (result.old_state, result.new_state, result.fee_amount_minor, result.charge_id) == (
        "lost_stolen",
        "assigned",
        0,
        None,
    )
    assert device_row(db, old)["warehouse_id"] is None
    with unit_of_work(db) as session:
        charges = session.execute(
            select(PendingCharge).where(PendingCharge.subscription_id == subscriber.subscription_id)
        ).all()
    assert charges == []


async def test_refused_activation_is_compensated(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    db = settings.database_url or ""
    shop, _subscriber, old, (spare,) = setup(db)
    adapter = FakeOtt(refuse={serial_of(db, spare)})
    async with worker(time_skipping_env, settings, adapter) as queue:
        _, (err, status) = await run(time_skipping_env, queue, start_input(db, shop, old, "faulty"))
    assert isinstance(err.cause, ApplicationError) and err.cause.type == "DeviceSwapFailed"
    assert isinstance(status, SwapStatus)
    assert (status.step, status.new_device_id, status.compensation_errors) == ("failed", spare, [])
    assert status.error is not None and status.error.startswith("provisioning_new: ott-test refused activate")
    assert adapter.calls == [
        ("terminate", serial_of(db, old), "remove"),
        ("activate", serial_of(db, spare), "install"),
        ("activate", serial_of(db, old), "install"),  # the old box is back in service
    ]
    assert device_row(db, old)["state"] == "assigned"
    assert device_row(db, spare) == {
        "state": "in_stock",
        "warehouse_id": shop.warehouse_id,
        "subscription_id": None,
        "service_id": None,
    }
    assert [m[0] for m in movements(db, spare)] == ["receive", "reserve", "release"]


async def test_a_failed_fee_undoes_the_stock_moves(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    db = settings.database_url or ""
    shop, subscriber, old, (spare,) = setup(db)
    adapter = FakeOtt()
    async with worker(
        time_skipping_env, settings, adapter, replace={"record_device_fee": broken_fee}
    ) as queue:
        _, (_err, status) = await run(time_skipping_env, queue, start_input(db, shop, old, "damaged"))
    assert status.step == "failed" and status.error == "charging_fee: billing is closed"
    assert device_row(db, old) == {
        "state": "assigned",
        "warehouse_id": None,
        "subscription_id": subscriber.subscription_id,
        "service_id": subscriber.service_id,
    }
    assert device_row(db, spare)["state"] == "in_stock"
    assert device_row(db, spare)["warehouse_id"] == shop.warehouse_id
    assert [m[0] for m in movements(db, spare)] == ["receive", "reserve", "dispatch", "return"]
    assert [m[2] for m in movements(db, old)] == ["in_stock", "assigned", "in_repair", "assigned"]
    assert [c[0] for c in adapter.calls] == ["terminate", "activate", "terminate", "activate"]
    assert [c[2] for c in adapter.calls] == ["remove", "install", "remove", "install"]


async def test_nothing_in_stock_fails_before_touching_anything(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    db = settings.database_url or ""
    shop, _subscriber, old, _ = setup(db, spare=0)
    adapter = FakeOtt()
    async with worker(time_skipping_env, settings, adapter) as queue:
        _, (_err, status) = await run(time_skipping_env, queue, start_input(db, shop, old, "faulty"))
    assert status.error == f"reserving: no {shop.box} device is in stock"
    assert adapter.calls == []
    assert device_row(db, old)["state"] == "assigned"


async def test_damaged_without_a_fee_is_refused_up_front(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    db = settings.database_url or ""
    shop = make_shop(db, damage_fee=None)
    subscriber = make_subscriber(db, shop)
    old, spare = receive(db, shop, 2)
    assign(db, shop, old, subscriber)
    async with worker(time_skipping_env, settings, FakeOtt()) as queue:
        _, (_err, status) = await run(time_skipping_env, queue, start_input(db, shop, old, "damaged"))
        assert status.error.startswith("quoting_fee: the plan has no device_damage fee in EUR")
        _, result = await run(
            time_skipping_env, queue, start_input(db, shop, old, "damaged", fee_amount_minor=1999)
        )
    assert (result.fee_amount_minor, result.new_device_id) == (1999, spare)


@pytest.mark.parametrize("reason", ["faulty"])
async def test_swap_activities_are_idempotent(settings: Settings, reason: str) -> None:
    db = settings.database_url or ""
    shop, subscriber, _old, (spare,) = setup(db)
    acts = DeviceActivities(settings)
    request = ReserveDeviceInput(
        idempotency_key=f"k-{uuid.uuid4().hex}",
        operator_id=shop.tenant.organisation_id,
        subscription_id=subscriber.subscription_id,
        service_id=subscriber.service_id,
        product_code=shop.box,
        actor=shop.principal.key_id,
    )
    first = acts.reserve_device(request)
    again = acts.reserve_device(request)
    assert first == again and first.device_id == spare
    assert [m[0] for m in movements(db, spare)] == ["receive", "reserve"]
