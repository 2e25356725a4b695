"""A stolen device's DeviceSwap (as a stolen-device ticket starts it) on the time-skipping server: the old
device is deprovisioned before anything else, and stays out of service when no replacement can be had or
the replacement's activation fails (the saga never puts a stolen device back in service)."""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from api.device_swaps import swap_input
from api.schemas.devices import SwapRequest
from domain.devices import SwapReason
from models.base import unit_of_work
from models.devices import Device
from runtime.settings import Settings
from tests.support.device_support import assign, device_row, make_shop, make_subscriber, receive
from tests.support.swap_worker import FakeOtt, worker
from workflows.device_swap import DeviceSwapWorkflow, SwapStatus


def serial_of(database_url: str, device_id: str) -> str:
    with unit_of_work(database_url) as session:
        row = session.get(Device, device_id)
        assert row is not None
        return row.serial


async def swap_stolen(
    env: WorkflowEnvironment, settings: Settings, adapter: FakeOtt, *, spares: int
) -> tuple[str, list[str], Any]:
    """Run the swap of a stolen device with ``spares`` replacements in stock: (old, spares, outcome)."""
    db = settings.database_url or ""
    shop = make_shop(db)
    subscriber = make_subscriber(db, shop)
    old, *spare_ids = receive(db, shop, 1 + spares)
    assign(db, shop, old, subscriber)
    with unit_of_work(db) as session:
        request = swap_input(session, shop.principal, old, SwapRequest(reason=SwapReason.STOLEN))
    async with worker(env, settings, adapter) as queue:
        handle = await env.client.start_workflow(
            DeviceSwapWorkflow.run, request, id=f"device-swap-stolen-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        try:
            return old, spare_ids, await handle.result()
        except WorkflowFailureError:
            return old, spare_ids, await handle.query(DeviceSwapWorkflow.status)


async def test_a_stolen_device_is_deprovisioned_before_the_replacement_is_reserved(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    db = settings.database_url or ""
    adapter = FakeOtt()
    old, (spare,), result = await swap_stolen(time_skipping_env, settings, adapter, spares=1)
    assert (result.old_state, result.new_device_id) == ("lost_stolen", spare)
    assert adapter.calls == [
        ("terminate", serial_of(db, old), "remove"),
        ("activate", serial_of(db, spare), "install"),
    ]


async def test_a_stolen_device_stays_out_of_service_when_no_replacement_is_in_stock(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    db = settings.database_url or ""
    adapter = FakeOtt()
    old, _, status = await swap_stolen(time_skipping_env, settings, adapter, spares=0)
    assert isinstance(status, SwapStatus) and status.step == "failed", status
    assert status.error is not None and status.error.startswith("reserving:")
    assert adapter.calls == [("terminate", serial_of(db, old), "remove")]  # never back in service


async def test_a_failed_replacement_does_not_put_the_stolen_device_back(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    db = settings.database_url or ""
    shop = make_shop(db)
    subscriber = make_subscriber(db, shop)
    old, spare = receive(db, shop, 2)
    assign(db, shop, old, subscriber)
    adapter = FakeOtt(refuse={serial_of(db, spare)})
    with unit_of_work(db) as session:
        request = swap_input(session, shop.principal, old, SwapRequest(reason=SwapReason.STOLEN))
    async with worker(time_skipping_env, settings, adapter) as queue:
        handle = await time_skipping_env.client.start_workflow(
            DeviceSwapWorkflow.run,
            request,
            id=f"device-swap-stolen-{uuid.uuid4().hex[:8]}",
            task_queue=queue,
        )
        try:
            await handle.result()
            raise AssertionError("the swap should have failed")
        except WorkflowFailureError:
            status = await handle.query(DeviceSwapWorkflow.status)
    assert status.step == "failed" and status.compensation_errors == []
    assert adapter.calls == [
        ("terminate", serial_of(db, old), "remove"),
        ("activate", serial_of(db, spare), "install"),  # refused: nothing more is installed
    ]
    assert device_row(db, spare)["state"] == "in_stock"  # the reservation was released
