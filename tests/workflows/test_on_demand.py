"""OnDemandAccess on the time-skipping server: provisioned with its expiry, deprovisioned when it passes."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.provisioning import ProvisioningActivities
from integrations.provisioning.base import AdapterRegistry, ProvisioningRequest, ProvisioningResult
from models.base import engine_for
from runtime.settings import Settings
from tests.factories import make_operator
from tests.provisioning_factory import line, make_subscription
from workflows.on_demand import OnDemandAccessWorkflow, OnDemandInput, OnDemandResult


@dataclass
class RecordingPlatform:
    name: str = "vod"
    kinds: frozenset[str] = frozenset({"video"})
    refuse: bool = False
    orders: list[tuple[str, str, str | None]] = field(default_factory=list)

    def execute(self, request: ProvisioningRequest) -> ProvisioningResult:
        self.orders.append((request.service_id, request.action.value, request.expires_at))
        if self.refuse:
            return ProvisioningResult(status="failed", detail="unknown title", retryable=False)
        return ProvisioningResult(status="done", reference=request.service_id)


async def run_access(
    env: WorkflowEnvironment,
    settings: Settings,
    platform: RecordingPlatform,
    hours: int,
    revoke: bool = False,
) -> tuple[OnDemandResult, timedelta, str]:
    made = make_subscription(settings.database_url or "", make_operator(settings.database_url or ""), {})
    service = line()
    registry = AdapterRegistry()
    registry.register(platform)
    queue = f"on-demand-{uuid.uuid4().hex[:8]}"
    activities = ProvisioningActivities(settings, registry)
    with ThreadPoolExecutor(4) as pool:
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[OnDemandAccessWorkflow],
            activities=[activities.provision_service],
            activity_executor=pool,
        ):
            handle = await env.client.start_workflow(
                OnDemandAccessWorkflow.run,
                OnDemandInput(
                    service_kind="video",
                    account_id=made.account_id,
                    subscription_id=made.subscription_id,
                    service_id=service,
                    plan_code="rental-film-42",
                    characteristics={"titles": ["film-42"]},
                    duration_hours=hours,
                ),
                id=f"ondemand-{service}",
                task_queue=queue,
            )
            if revoke:
                await handle.signal(OnDemandAccessWorkflow.revoke)
            result = await handle.result()
            described = await handle.describe()
    assert described.close_time is not None
    return result, described.close_time - described.start_time, service


async def test_rental_is_deprovisioned_after_48_hours(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    platform = RecordingPlatform()
    result, took, service = await run_access(time_skipping_env, settings, platform, hours=48)
    assert result.outcome == "expired"
    expires = datetime.fromisoformat(result.expires_at)
    assert platform.orders == [(service, "activate", result.expires_at), (service, "terminate", None)]
    assert timedelta(hours=48) <= took < timedelta(hours=48, minutes=1)
    with engine_for(settings.database_url or "").connect() as conn:
        rows = conn.execute(
            sa.text(
                "select action, state, request->>'expires_at' from provisioning_orders"
                " where service_id=:s order by created_at"
            ),
            {"s": service},
        ).all()
    assert [tuple(r) for r in rows] == [
        ("activate", "done", expires.isoformat()),
        ("terminate", "done", None),
    ]


async def test_seven_day_pass_revoked_early(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    platform = RecordingPlatform()
    result, took, _ = await run_access(time_skipping_env, settings, platform, hours=168, revoke=True)
    assert result.outcome == "revoked"
    assert [a for _, a, _ in platform.orders] == ["activate", "terminate"]
    assert took < timedelta(hours=1)


async def test_refused_activation_ends_without_deprovisioning(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    platform = RecordingPlatform(refuse=True)
    result, _, service = await run_access(time_skipping_env, settings, platform, hours=48)
    assert (result.outcome, platform.orders) == ("failed", [(service, "activate", result.expires_at)])
    assert "unknown title" in result.detail
