"""Test support for subscription processes: a recording provisioning adapter, a stack, a catalogue."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from temporalio.activity import _Definition
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.provisioning.activities import ProvisioningActivities
from api.app import create_app
from integrations.provisioning.base import AdapterRegistry, ProvisioningRequest, ProvisioningResult
from runtime.settings import Settings
from runtime.worker import activities_for, build_worker
from tests.support.catalog_factory import plan, post, product
from tests.support.eventually import eventually_async
from tests.support.factories import Tenant, person


@dataclass
class RecordingAdapter:
    """A provisioning peer that remembers every order and can be told to refuse some."""

    name: str
    kinds: frozenset[str]
    orders: list[ProvisioningRequest] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # actions to refuse

    def execute(self, request: ProvisioningRequest) -> ProvisioningResult:
        self.orders.append(request)
        if request.action.value in self.refuse:
            return ProvisioningResult(
                status="failed", detail=f"{self.name} refuses {request.action.value}", retryable=False
            )
        return ProvisioningResult(status="done", reference=f"{self.name}:{request.service_id}")

    def actions(self) -> list[tuple[str, str]]:
        return [(o.action.value, o.service_id) for o in self.orders]


@dataclass
class Stack:
    api: httpx.AsyncClient
    client: Client
    broadband: RecordingAdapter
    video: RecordingAdapter
    task_queue: str = ""


def activity_name(fn: Any) -> str:
    definition = _Definition.from_callable(fn)
    return definition.name if definition is not None and definition.name else ""


def worker_activities(settings: Settings, *adapters: Any, replace: tuple[Any, ...] = ()) -> list[Any]:
    """The worker's activities, provisioning through ``adapters`` and with ``replace`` swapped in by name."""
    registry = AdapterRegistry()
    for adapter in adapters:
        registry.register(adapter)
    replacements = [ProvisioningActivities(settings, registry).provision_service, *replace]
    names = {activity_name(a) for a in replacements}
    return [*(a for a in activities_for(settings) if activity_name(a) not in names), *replacements]


@asynccontextmanager
async def running_stack(settings: Settings, client: Client) -> AsyncIterator[Stack]:
    queue_settings = settings.model_copy(update={"task_queue": f"subs-{uuid.uuid4().hex[:8]}"})
    broadband = RecordingAdapter("radius-test", frozenset({"broadband"}))
    video = RecordingAdapter("ott-test", frozenset({"video"}))
    activities = worker_activities(queue_settings, broadband, video)
    app = create_app(queue_settings, temporal_client=client)
    async with (
        build_worker(client, queue_settings, activities=activities),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as api,
    ):
        yield Stack(api, client, broadband, video, queue_settings.task_queue)


@pytest.fixture
async def stack(settings: Settings, dev_env: WorkflowEnvironment) -> AsyncIterator[Stack]:
    """The API and a worker (recording provisioning adapters) on the dev Temporal server. A test module
    that needs another stack defines its own ``stack`` fixture, which takes precedence."""
    async with running_stack(settings, dev_env.client) as running:
        yield running


@dataclass
class Shop:
    """A small catalogue: broadband plans (cheap, dear), a video add-on and an account to sell to."""

    tenant: Tenant
    cheap: str
    dear: str
    addon: str
    account_id: str


async def make_shop(api: httpx.AsyncClient, tenant: Tenant, **plan_extra: Any) -> Shop:
    tv = await product(
        api, tenant, "video", characteristics=[{"name": "channel_packs", "type": "list", "value": ["sports"]}]
    )
    addon = await plan(api, tenant, product_code=tv, role="addon", prices={"EUR": "9.00"})
    net = await product(
        api,
        tenant,
        "broadband",
        characteristics=[{"name": "download_speed", "type": "integer", "value": 300, "unit": "Mbit/s"}],
    )
    rules = [{"plan_code": addon, "rule": "allowed"}]
    fee = [{"code": "setup", "name": "Setup", "prices": {"EUR": "25.00"}}]
    cheap = await plan(
        api, tenant, product_code=net, prices={"EUR": "31.00"}, addons=rules, one_off_fees=fee, **plan_extra
    )
    dear = await plan(api, tenant, product_code=net, prices={"EUR": "62.00"}, addons=rules, **plan_extra)
    account = await post(api, tenant, "/v1/accounts", person())
    return Shop(tenant, cheap, dear, addon, account["id"])


async def wait_process(
    api: httpx.AsyncClient, tenant: Tenant, process_id: str, status: str = "completed"
) -> dict[str, Any]:

    async def view() -> dict[str, Any]:
        return dict((await api.get(f"/v1/processes/{process_id}", headers=tenant.auth)).json())

    # 30 s: processes take well under a second, unless the machine is loaded
    return await eventually_async(
        view, until=lambda body: body.get("status") == status, timeout=30, what=f"{process_id} {status}"
    )


async def onboard(api: httpx.AsyncClient, shop: Shop, **extra: Any) -> dict[str, Any]:
    """A subscription to the cheap plan, from a fixed date (never "today") unless ``extra`` says otherwise."""
    body = {
        "account_id": shop.account_id,
        "items": [{"plan": shop.cheap}],
        "start_date": "2024-01-01",
        **extra,
    }
    resp = await api.post("/v1/subscriptions", json=body, headers=shop.tenant.post_headers())
    assert resp.status_code == 202, resp.text
    await wait_process(api, shop.tenant, resp.json()["process_id"])
    got = await api.get(f"/v1/subscriptions/{resp.json()['subscription_id']}", headers=shop.tenant.auth)
    return dict(got.json())
