"""A DeviceSwap worker on its own task queue, provisioning video through FakeOtt (an adapter that records
every order and refuses the serials it is told to): shared by the workflow and the API tests of swaps."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from temporalio.testing import WorkflowEnvironment

from activities.devices.activities import DeviceActivities
from activities.provisioning.activities import ProvisioningActivities
from activities.subscriptions.activities import SubscriptionActivities
from integrations.provisioning.base import AdapterRegistry, ProvisioningRequest, ProvisioningResult
from runtime.settings import Settings
from runtime.worker import ACTIVITY_THREADS, build_worker


class FakeOtt:
    """An adapter that records every order and refuses to install the serials it is told to."""

    name = "ott-test"
    kinds = frozenset({"video"})

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.refuse = refuse or set()
        self.calls: list[tuple[str, str, str]] = []

    def execute(self, request: ProvisioningRequest) -> ProvisioningResult:
        device = request.device or {}
        self.calls.append((request.action.value, device["serial"], device["swap"]))
        if device["serial"] in self.refuse and request.action.value == "activate":
            return ProvisioningResult(status="failed", detail="unknown box", retryable=False)
        return ProvisioningResult(status="done", reference=request.idempotency_key)


@asynccontextmanager
async def worker(
    env: WorkflowEnvironment,
    settings: Settings,
    adapter: FakeOtt,
    replace: dict[str, Callable[..., Any]] | None = None,
) -> AsyncIterator[str]:
    """A worker on its own queue; ``replace`` swaps activities by name (to make one fail)."""
    queue = settings.model_copy(update={"task_queue": f"swap-{uuid.uuid4().hex[:8]}"})
    registry = AdapterRegistry()
    registry.register(adapter)
    replace = replace or {}
    device_activities = [
        a for a in DeviceActivities(queue).all() if getattr(a, "__name__", "") not in replace
    ]
    activities = [
        *device_activities,
        *replace.values(),
        ProvisioningActivities(queue, registry).provision_service,
        SubscriptionActivities(queue).notify_subscriber,
    ]
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
        async with build_worker(env.client, queue, activity_executor=pool, activities=activities):
            yield queue.task_queue
