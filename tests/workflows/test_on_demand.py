"""OnDemandAccess on the time-skipping server: provisioned with its expiry, deprovisioned when it passes."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.provisioning.activities import ProvisioningActivities
from activities.subscriptions.activities import OnDemandActivities
from activities.subscriptions.io import EndAccess
from activities.subscriptions.on_demand import end_access
from integrations.provisioning.base import AdapterRegistry, ProvisioningRequest, ProvisioningResult
from models.base import engine_for
from runtime.settings import Settings
from tests.support.factories import make_operator
from tests.support.provisioning_factory import line, make_subscription
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
    service = line()
    made = make_subscription(
        settings.database_url or "", make_operator(settings.database_url or ""), {service: "video:active"}
    )
    registry = AdapterRegistry()
    registry.register(platform)
    queue = f"on-demand-{uuid.uuid4().hex[:8]}"
    activities = ProvisioningActivities(settings, registry)
    with ThreadPoolExecutor(4) as pool:
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[OnDemandAccessWorkflow],
            activities=[activities.provision_service, OnDemandActivities(settings).end_on_demand_service],
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


def service_row(settings: Settings, line_id: str) -> tuple[str, date | None, list[tuple[str, str | None]]]:
    """(status, ended_on, [(event kind, reason)]) of the subscription's row for ``line_id``."""
    with engine_for(settings.database_url or "").connect() as conn:
        status, ended_on, row_id = conn.execute(
            sa.text("select status, ended_on, id from subscription_services where line_id=:l"), {"l": line_id}
        ).one()
        events = conn.execute(
            sa.text("select kind, reason from subscription_events where service_id=:s"), {"s": row_id}
        ).all()
    return status, ended_on, [tuple(e) for e in events]  # type: ignore[misc]


async def test_the_service_row_ends_when_the_window_expires(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    platform = RecordingPlatform()
    result, _, service = await run_access(time_skipping_env, settings, platform, hours=48)
    expires = datetime.fromisoformat(result.expires_at)
    local_day = expires.astimezone(ZoneInfo("Europe/Madrid")).date()  # the subscription's time zone
    assert service_row(settings, service) == (
        "terminated",
        local_day,
        [("on_demand_ended", "access window expired")],
    )
    # idempotent: a retried activity (or a second process) finds nothing live and changes nothing
    with engine_for(settings.database_url or "").connect() as conn:
        sub_id = conn.execute(
            sa.text("select subscription_id from subscription_services where line_id=:l"), {"l": service}
        ).scalar_one()
    again = end_access(
        settings.database_url or "",
        EndAccess(
            process_id=f"ondemand-{service}",
            subscription_id=sub_id,
            service_id=service,
            ended_at=expires,
            outcome="expired",
        ),
    )
    assert again.service_ids == []
    assert service_row(settings, service)[2] == [("on_demand_ended", "access window expired")]


async def test_seven_day_pass_revoked_early(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    platform = RecordingPlatform()
    result, took, _ = await run_access(time_skipping_env, settings, platform, hours=168, revoke=True)
    assert result.outcome == "revoked"
    assert [a for _, a, _ in platform.orders] == ["activate", "terminate"]
    assert took < timedelta(hours=1)
    status, ended_on, events = service_row(settings, platform.orders[0][0])
    assert (status, events) == ("terminated", [("on_demand_ended", "access window revoked")])
    started = datetime.fromisoformat(result.expires_at) - timedelta(hours=168)
    assert (
        ended_on == started.astimezone(ZoneInfo("Europe/Madrid")).date()
        or ended_on == (started + timedelta(hours=1)).astimezone(ZoneInfo("Europe/Madrid")).date()
    )


async def test_refused_activation_ends_without_deprovisioning(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    platform = RecordingPlatform(refuse=True)
    result, _, service = await run_access(time_skipping_env, settings, platform, hours=48)
    assert (result.outcome, platform.orders) == ("failed", [(service, "activate", result.expires_at)])
    assert "unknown title" in result.detail
    assert service_row(settings, service) == ("active", None, [])  # not provisioned: left to care
