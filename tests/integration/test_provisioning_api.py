"""Operator tools: failed orders listed in the caller's subtree, re-run, and resync with a platform."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.provisioning.activities import ProvisioningActivities, RepairActivities
from activities.provisioning.io import OrderInput
from api.app import create_app
from domain.organisations import OrganisationKind
from domain.provisioning import ProvisioningAction
from integrations.provisioning.base import (
    AdapterRegistry,
    ProvisioningRequest,
    ProvisioningResult,
    ServiceState,
)
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.factories import Tenant, make_child, make_operator
from tests.support.provisioning_factory import line, make_subscription
from tests.support.subscription_support import worker_activities


@dataclass
class FakePlatform:
    """An in-memory platform: fails the next ``failures`` orders, reports its state for resync."""

    name: str = "fake"
    kinds: frozenset[str] = frozenset({"broadband"})
    failures: int = 0
    state: dict[str, ServiceState] = field(default_factory=dict)
    seen: list[tuple[str, str]] = field(default_factory=list)

    def execute(self, request: ProvisioningRequest) -> ProvisioningResult:
        self.seen.append((request.service_id, request.action.value))
        if self.failures:
            self.failures -= 1
            return ProvisioningResult(status="failed", detail="platform busy", retryable=True)
        sid, action = request.service_id, request.action
        if action is ProvisioningAction.TERMINATE:
            self.state.pop(sid, None)
        else:
            self.state[sid] = ServiceState(
                service_id=sid, active=True, suspended=action is ProvisioningAction.SUSPEND
            )
        return ProvisioningResult(status="done", reference=sid)

    def list_state(self) -> list[ServiceState]:
        return list(self.state.values())


@pytest.fixture
def platform() -> FakePlatform:
    return FakePlatform()


@pytest.fixture
def activities(settings: Settings, platform: FakePlatform) -> ProvisioningActivities:
    registry = AdapterRegistry()
    registry.register(platform)
    return ProvisioningActivities(settings, registry)


@pytest.fixture
async def client(
    settings: Settings, activities: ProvisioningActivities, dev_env: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    """The API and a worker (own task queue) whose repairs provision through ``activities``' adapters."""
    queue = settings.model_copy(update={"task_queue": f"repairs-{uuid.uuid4().hex[:8]}"})
    app = create_app(queue, temporal_client=dev_env.client)
    repairs = RepairActivities(queue, activities.registry).all()
    async with (
        build_worker(dev_env.client, queue, activities=worker_activities(queue, replace=tuple(repairs))),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        yield http


def order(sub: str, account: str, service_id: str, action: ProvisioningAction, key: str) -> OrderInput:
    return OrderInput(
        idempotency_key=key,
        action=action,
        service_kind="broadband",
        account_id=account,
        subscription_id=sub,
        service_id=service_id,
        plan_code="fibre",
        characteristics={"download_speed": 100, "upload_speed": 20},
    )


async def test_failed_orders_are_listed_and_re_run(
    client: httpx.AsyncClient, activities: ProvisioningActivities, platform: FakePlatform, database_url: str
) -> None:
    operator = make_operator(database_url)
    lid = line()
    made = make_subscription(database_url, operator, {lid: "broadband:active"})
    platform.failures = 1
    with pytest.raises(ApplicationError, match="platform busy"):
        activities.provision_service(
            order(made.subscription_id, made.account_id, lid, ProvisioningAction.ACTIVATE, lid)
        )

    listed = await client.get("/v1/provisioning/orders", params={"state": "failed"}, headers=operator.auth)
    assert listed.status_code == 200, listed.text
    [failed] = listed.json()["data"]
    assert (failed["service_id"], failed["action"], failed["attempts"], failed["error"]) == (
        lid,
        "activate",
        1,
        "platform busy",
    )
    stranger = make_operator(database_url)
    assert (await client.get("/v1/provisioning/orders", headers=stranger.auth)).json()["data"] == []
    partner = make_child(database_url, operator.organisation_id, kind=OrganisationKind.PARTNER)
    refused = await client.get("/v1/provisioning/orders", headers=partner.auth)
    assert (refused.status_code, refused.json()["code"]) == (403, "operator_only")

    url = f"/v1/provisioning/orders/{failed['id']}/retry"
    missing_key = await client.post(url, headers=operator.auth)
    assert (missing_key.status_code, missing_key.json()["code"]) == (400, "idempotency_key_required")
    headers = operator.post_headers()
    retried = await client.post(url, headers=headers)
    assert retried.status_code == 200, retried.text
    body = retried.json()
    assert (body["outcome"], body["order"]["state"], body["order"]["attempts"], body["order"]["error"]) == (
        "done",
        "done",
        2,
        None,
    )
    replay = await client.post(url, headers=headers)
    assert replay.json() == body and replay.headers["Idempotent-Replayed"] == "true"
    again = await client.post(url, headers=operator.post_headers())
    assert (again.status_code, again.json()["code"]) == (409, "order_not_failed")
    other = await client.post(url, headers=stranger.post_headers())
    assert (other.status_code, other.json()["code"]) == (404, "provisioning_order_not_found")
    assert platform.seen == [(lid, "activate"), (lid, "activate")]


async def test_resync_fixes_the_differences_and_reports(
    client: httpx.AsyncClient, activities: ProvisioningActivities, platform: FakePlatform, database_url: str
) -> None:
    operator: Tenant = make_operator(database_url)
    missing, wrong, ended, fine = line(), line(), line(), line()
    made = make_subscription(
        database_url,
        operator,
        {
            missing: "broadband:active",
            wrong: "broadband:suspended",
            ended: "broadband:terminated",
            fine: "broadband:active",
        },
    )
    activities.provision_service(
        order(made.subscription_id, made.account_id, missing, ProvisioningAction.ACTIVATE, f"first:{missing}")
    )
    platform.state.pop(missing)  # the platform lost it
    for sid in (wrong, ended, fine):
        platform.state[sid] = ServiceState(service_id=sid, active=True)
    platform.state["lin_stranger"] = ServiceState(service_id="lin_stranger", active=True)

    resp = await client.post("/v1/provisioning/resync", headers=operator.post_headers("resync-1"))
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert (
        report["adapters"],
        report["checked"],
        report["in_sync"],
        report["unknown"],
        report["errors"],
    ) == (
        ["fake"],
        4,
        1,
        ["lin_stranger"],
        {},
    )
    assert sorted((o["service_id"], o["action"], o["state"]) for o in report["orders"]) == sorted(
        [(missing, "activate", "done"), (wrong, "suspend", "done"), (ended, "terminate", "done")]
    )
    assert platform.state[wrong].suspended and ended not in platform.state and platform.state[missing].active
    second = await client.post("/v1/provisioning/resync", headers=operator.post_headers("resync-2"))
    assert (second.json()["orders"], second.json()["in_sync"]) == ([], 3)
