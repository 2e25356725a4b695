"""A stolen device's DeviceSwap (as a stolen-device ticket starts it) on the time-skipping server: the old
device is deprovisioned before anything else, and stays out of service when no replacement can be had or
the replacement's activation fails (the saga never puts a stolen device back in service). The ticket's
action marks the device lost/stolen at once, before any swap; the swap then moves it no more."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from activities.care import disputes
from activities.devices import swaps, warehouse
from activities.devices.io import SwapStockInput
from api.device_swaps import swap_input
from api.schemas.devices import SwapRequest
from domain.devices import SwapReason
from domain.errors import Conflict
from domain.ids import new_id
from models.base import unit_of_work
from models.devices import Device, DeviceLogin, StockMovement
from runtime.settings import Settings
from tests.support.care_support import events_of, history_of, make_care, raise_ticket
from tests.support.device_support import (
    Shop,
    Subscriber,
    assign,
    device_row,
    make_shop,
    make_subscriber,
    receive,
)
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


# --- a stolen-device ticket marks the device lost/stolen at once, before any swap ------------------------


def stock_of(database_url: str, device_id: str) -> list[tuple[str, str | None, str | None, str | None]]:
    """A device's movements: (kind, from state, to state, process id), sorted (never by row order)."""
    with unit_of_work(database_url) as session:
        rows = session.execute(select(StockMovement).where(StockMovement.device_id == device_id)).scalars()
        return sorted(((m.kind, m.from_state, m.to_state, m.process_id) for m in rows), key=str)


def warehouse_counts(database_url: str, shop: Shop) -> list[dict[str, Any]]:
    with unit_of_work(database_url) as session:
        return warehouse.balances(session, shop.principal, shop.warehouse_id, None)


def block_by_ticket(database_url: str, shop: Shop, subscriber: Subscriber, box: str) -> tuple[str, Any]:
    """Raise a stolen-device ticket for ``box`` and run its action as the API does (block, then the
    swap's input, in one transaction): (ticket id, swap input)."""
    care = make_care(database_url, tenant=shop.tenant, action="stolen_device")
    care = dataclasses.replace(care, account_id=subscriber.account_id)
    ticket = raise_ticket(database_url, care, device_id=box)
    with unit_of_work(database_url) as session:
        disputes.block_stolen_device(session, shop.principal, ticket.id)
        request = swap_input(session, shop.principal, box, SwapRequest(reason=SwapReason.STOLEN))
    return ticket.id, request


async def run_swap(env: WorkflowEnvironment, settings: Settings, adapter: FakeOtt, request: Any) -> Any:
    async with worker(env, settings, adapter) as queue:
        handle = await env.client.start_workflow(
            DeviceSwapWorkflow.run, request, id=f"device-swap-stolen-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        try:
            return await handle.result()
        except WorkflowFailureError:
            return await handle.query(DeviceSwapWorkflow.status)


ASSIGNED_THEN_LOST = [
    ("dispatch", "in_stock", "assigned", None),
    ("receive", None, "in_stock", None),
    ("state_change", "assigned", "lost_stolen", None),  # the ticket's: no process made it
]


async def test_the_ticket_marks_the_device_lost_at_once_and_the_swap_adds_no_second_movement(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    db = settings.database_url or ""
    shop = make_shop(db)
    subscriber = make_subscriber(db, shop)
    box, spare, third = receive(db, shop, 3)
    assign(db, shop, box, subscriber)
    assert warehouse_counts(db, shop)[0]["by_state"] == {"in_stock": 2}
    ticket_id, request = block_by_ticket(db, shop, subscriber, box)
    # before any swap: lost/stolen, tied to no subscriber and no warehouse; the warehouse is untouched
    assert device_row(db, box) == {
        "state": "lost_stolen",
        "warehouse_id": None,
        "subscription_id": None,
        "service_id": None,
    }
    assert stock_of(db, box) == ASSIGNED_THEN_LOST
    assert warehouse_counts(db, shop)[0]["by_state"] == {"in_stock": 2}
    assert (request.subscription_id, request.service_id) == (
        subscriber.subscription_id,
        subscriber.service_id,
    )
    [event] = [e for e in events_of(db, ticket_id) if e.data.get("change") == "device_blocked"]
    assert event.data["device_state"] == "lost_stolen"

    adapter = FakeOtt()
    result = await run_swap(time_skipping_env, settings, adapter, request)
    assert (result.old_state, result.new_device_id, result.new_state) == ("lost_stolen", spare, "assigned")
    assert adapter.calls == [
        ("terminate", serial_of(db, box), "remove"),
        ("activate", serial_of(db, spare), "install"),
    ]
    assert stock_of(db, box) == ASSIGNED_THEN_LOST  # the swap moved the stolen box no more
    assert device_row(db, spare)["subscription_id"] == subscriber.subscription_id
    assert warehouse_counts(db, shop)[0]["by_state"] == {"in_stock": 1}  # the spare left, the third stays

    # replaced: neither the ticket nor a swap may take it again, and a late second completion is refused
    with pytest.raises(Conflict) as refused, unit_of_work(db) as session:
        disputes.block_stolen_device(session, shop.principal, ticket_id)
    assert refused.value.code == "device_not_assigned"
    with pytest.raises(Conflict) as refused, unit_of_work(db) as session:
        swap_input(session, shop.principal, box, SwapRequest(reason=SwapReason.STOLEN))
    assert refused.value.code == "device_not_assigned"
    late = SwapStockInput(
        idempotency_key=f"late-{uuid.uuid4().hex[:8]}",
        old_device_id=box,
        new_device_id=third,
        reason=SwapReason.STOLEN,
        subscription_id=subscriber.subscription_id,
        service_id=subscriber.service_id,
        actor="test",
        process_id="another-swap",
    )
    with pytest.raises(Conflict) as refused, unit_of_work(db) as session:
        swaps.complete_swap(session, late)
    assert refused.value.code == "device_already_replaced"
    assert device_row(db, third)["state"] == "in_stock"
    assert stock_of(db, box) == ASSIGNED_THEN_LOST


async def test_a_swap_without_stock_leaves_the_device_lost_and_a_second_request_swaps_it(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    db = settings.database_url or ""
    shop = make_shop(db)
    subscriber = make_subscriber(db, shop)
    (box,) = receive(db, shop, 1)
    assign(db, shop, box, subscriber)
    ticket_id, request = block_by_ticket(db, shop, subscriber, box)
    status = await run_swap(time_skipping_env, settings, FakeOtt(), request)
    assert isinstance(status, SwapStatus) and status.step == "failed", status
    assert status.error is not None and status.error.startswith("reserving:")
    assert device_row(db, box)["state"] == "lost_stolen"  # not assigned: out of service and out of stock
    assert stock_of(db, box) == ASSIGNED_THEN_LOST

    # stock arrives; the action asked again moves and ends nothing more (logins since are the
    # subscriber's own, with a new secret), and its swap hands over the replacement
    (spare,) = receive(db, shop, 1)
    with unit_of_work(db) as session:
        session.add(
            DeviceLogin(
                id=new_id("dlg"),
                account_id=subscriber.account_id,
                service_id=subscriber.service_id,
                device_id="own-tv",
            )
        )
    with unit_of_work(db) as session:
        disputes.block_stolen_device(session, shop.principal, ticket_id)
        again = swap_input(session, shop.principal, box, SwapRequest(reason=SwapReason.STOLEN))
    lines = [h.data for h in history_of(db, ticket_id, "action")]
    [first] = [line for line in lines if line["movement_id"] is not None]
    [second] = [line for line in lines if line["movement_id"] is None]
    assert first["device_state"] == second["device_state"] == "lost_stolen"
    assert (second["logins_ended"], second["credential_revoked"]) == (0, False)
    with unit_of_work(db) as session:
        login = session.execute(select(DeviceLogin).where(DeviceLogin.device_id == "own-tv")).scalar_one()
        assert login.logged_out_at is None
    result = await run_swap(time_skipping_env, settings, FakeOtt(), again)
    assert (result.old_state, result.new_device_id) == ("lost_stolen", spare)
    assert stock_of(db, box) == ASSIGNED_THEN_LOST
    assert device_row(db, spare)["state"] == "assigned"
