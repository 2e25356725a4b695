"""POST /v1/devices/{id}/swap (dev server): one DeviceSwap per Idempotency-Key; bad input starts nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from domain import process_ids
from runtime.settings import Settings
from tests.support.device_support import assign, device_row, make_shop, make_subscriber, receive
from tests.support.swap_worker import FakeOtt, worker
from workflows.device_swap import DeviceSwapWorkflow


@pytest.fixture
async def swap_api(
    settings: Settings, dev_env: WorkflowEnvironment
) -> AsyncIterator[tuple[httpx.AsyncClient, FakeOtt]]:
    adapter = FakeOtt()
    async with worker(dev_env, settings, adapter) as queue:
        app = create_app(settings.model_copy(update={"task_queue": queue}), temporal_client=dev_env.client)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, adapter


async def test_swap_starts_one_process_per_key(
    swap_api: tuple[httpx.AsyncClient, FakeOtt], dev_env: WorkflowEnvironment, database_url: str
) -> None:
    api, adapter = swap_api
    shop = make_shop(database_url)
    subscriber = make_subscriber(database_url, shop)
    old, spare = receive(database_url, shop, 2)
    assign(database_url, shop, old, subscriber)
    key = f"swap-{uuid.uuid4().hex}"
    body = {"reason": "damaged", "fee_amount_minor": 1500}
    resp = await api.post(f"/v1/devices/{old}/swap", json=body, headers=shop.tenant.post_headers(key))
    assert resp.status_code == 202, resp.text
    process_id = process_ids.device_swap(shop.tenant.organisation_id, old, key)
    assert resp.json() == {
        "object": "device_swap",
        "process_id": process_id,
        "device_id": old,
        "reason": "damaged",
        "status": "started",
    }
    again = await api.post(f"/v1/devices/{old}/swap", json=body, headers=shop.tenant.post_headers(key))
    assert again.status_code == 202 and again.json()["process_id"] == process_id
    assert again.headers["Idempotent-Replayed"] == "true"
    result = await dev_env.client.get_workflow_handle_for(DeviceSwapWorkflow.run, process_id).result()
    assert (result.new_device_id, result.fee_amount_minor, result.old_state) == (spare, 1500, "in_repair")
    assert len(adapter.calls) == 2
    process = (await api.get(f"/v1/processes/{process_id}", headers=shop.tenant.auth)).json()
    assert (process["process"], process["status"], process["step"]) == (
        "DeviceSwap",
        "completed",
        "completed",
    )
    assert process["account_id"] == subscriber.account_id
    assert device_row(database_url, spare)["subscription_id"] == subscriber.subscription_id
    other = await api.post(
        f"/v1/devices/{old}/swap", json={"reason": "stolen"}, headers=shop.tenant.post_headers(key)
    )
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")


async def test_bad_swap_requests_start_nothing(api: httpx.AsyncClient, database_url: str) -> None:
    shop = make_shop(database_url)
    (in_stock,) = receive(database_url, shop, 1)
    resp = await api.post(
        f"/v1/devices/{in_stock}/swap", json={"reason": "faulty"}, headers=shop.tenant.post_headers()
    )
    assert resp.status_code == 409
    assert resp.json()["code"] == "device_not_assigned"
    assert resp.json()["detail"] == f"device {in_stock} is in_stock, not with a subscriber"
    unknown = await api.post(
        "/v1/devices/dev_01JD0000000000000000000000/swap",
        json={"reason": "faulty"},
        headers=shop.tenant.post_headers(),
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "device_not_found")
    bad = await api.post(
        f"/v1/devices/{in_stock}/swap", json={"reason": "bored"}, headers=shop.tenant.post_headers()
    )
    assert bad.status_code == 422
    negative = await api.post(
        f"/v1/devices/{in_stock}/swap",
        json={"reason": "damaged", "fee_amount_minor": -1},
        headers=shop.tenant.post_headers(),
    )
    assert negative.status_code == 422
    no_key = await api.post(
        f"/v1/devices/{in_stock}/swap", json={"reason": "faulty"}, headers=shop.tenant.auth
    )
    assert (no_key.status_code, no_key.json()["code"]) == (400, "idempotency_key_required")
    assert device_row(database_url, in_stock)["state"] == "in_stock"
