"""The hourly Temporal Schedule of charge acceptance and the monthly one of settlement, per operator and
connected provider, on the dev server: created (idempotently) through the API; the first's run accepts and
bills the pending charges, the second's settles the month before."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx
import pytest
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from activities.partner_charges.io import AcceptanceResult
from activities.partner_charges.sessions import PartnerRegistry
from activities.partners.activities import PartnerSettlementActivities
from activities.partners.io import StatementMade
from api.app import create_app
from domain import partners
from integrations.partners.netflix.client import complete_signup
from integrations.partners.netflix.provider import NetflixProvider
from integrations.partners.sportstream.provider import SportStreamProvider
from runtime.schedules import PARTNER_CHARGES_MINUTE, PARTNER_SETTLEMENT_DAY, PARTNER_SETTLEMENT_HOUR_UTC
from runtime.settings import Settings
from runtime.worker import ACTIVITY_THREADS, build_worker
from tests.support.eventually import eventually_async
from tests.support.factories import Tenant, make_operator
from tests.support.netflix_simulator import NETFLIX_OPERATOR, NETFLIX_SECRET, NetflixHarness
from tests.support.partner_factory import acceptance_worker, make_connection, make_member, pending_charges_of


@pytest.fixture
async def scheduling_api(
    dev_env: WorkflowEnvironment, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    providers = PartnerRegistry()
    providers.register(NetflixProvider(timeout_seconds=2.0))
    async with acceptance_worker(dev_env.client, settings, providers) as queue:
        app = create_app(queue, temporal_client=dev_env.client)
        app.state.partner_registry = providers
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as api:
            yield api, queue


async def test_the_hourly_schedule_accepts_the_pending_charges(
    dev_env: WorkflowEnvironment,
    scheduling_api: tuple[httpx.AsyncClient, Settings],
    settings: Settings,
    netflix: NetflixHarness,
) -> None:
    api, _ = scheduling_api
    db = settings.database_url or ""
    admin: Tenant = make_operator(db)
    make_connection(settings, admin.organisation_id, "netflix", netflix.url, NETFLIX_OPERATOR, NETFLIX_SECRET)
    member = make_member(db, admin.organisation_id, "netflix")
    signup = netflix.client.create_subscriber(member.customer_id)
    complete_signup(signup.signup_url, netflix.url)
    netflix.simulator.bill_period(date(2026, 3, 1))

    first = await api.post("/v1/partner-charges/schedules", headers=admin.post_headers())
    again = await api.post("/v1/partner-charges/schedules", headers=admin.post_headers())
    assert first.status_code == 200, first.text
    assert first.json() == again.json()
    [schedule] = first.json()["schedules"]
    assert schedule == {"id": f"partner-charges-{admin.organisation_id}-netflix", "provider": "netflix"}
    handle = dev_env.client.get_schedule_handle(schedule["id"])
    try:
        described = await handle.describe()
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert action.workflow == "NetflixChargeAcceptance"
        [calendar] = described.schedule.spec.calendars
        assert [m.start for m in calendar.minute] == [PARTNER_CHARGES_MINUTE]
        await handle.trigger()
        ran = await eventually_async(
            lambda: handle.describe(),
            until=lambda d: bool(d.info.recent_actions),
            timeout=15,
            what="the schedule's first run",
        )
        started = ran.info.recent_actions[0].action
        result = await dev_env.client.get_workflow_handle(
            started.workflow_id, run_id=started.first_execution_run_id, result_type=AcceptanceResult
        ).result()
        assert (result.fetched, result.accepted, result.reported) == (1, 1, 1)
        assert [(k, a) for k, a, _, _ in pending_charges_of(db, member.account_id)] == [
            ("partner_charge", 1425)
        ]
    finally:
        await handle.delete()

    partner = await api.post("/v1/partner-charges/schedules", headers=make_operator(db).post_headers())
    assert partner.json()["schedules"] == []  # an operator with no connection gets none


async def test_each_connection_gets_a_monthly_settlement_schedule_that_settles_the_month_before(
    dev_env: WorkflowEnvironment, settings: Settings, netflix: NetflixHarness
) -> None:
    db = settings.database_url or ""
    admin: Tenant = make_operator(db)
    make_connection(settings, admin.organisation_id, "netflix", netflix.url, NETFLIX_OPERATOR, NETFLIX_SECRET)
    make_connection(settings, admin.organisation_id, "sportstream", "http://127.0.0.1:9", "op", "secret")
    providers = PartnerRegistry()
    providers.register(NetflixProvider(timeout_seconds=2.0))
    providers.register(SportStreamProvider())
    queue = settings.model_copy(update={"task_queue": f"pset-{uuid.uuid4().hex[:8]}"})
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
        worker = build_worker(
            dev_env.client, queue, activity_executor=pool, activities=PartnerSettlementActivities(queue).all()
        )
        async with worker:
            app = create_app(queue, temporal_client=dev_env.client)
            app.state.partner_registry = providers
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver"
            ) as api:
                first = await api.post("/v1/partner-charges/schedules", headers=admin.post_headers())
                again = await api.post("/v1/partner-charges/schedules", headers=admin.post_headers())
            assert first.status_code == 200, first.text
            assert first.json() == again.json()
            org = admin.organisation_id
            assert sorted((s["provider"], s["id"]) for s in first.json()["settlement_schedules"]) == [
                ("netflix", f"partner-settlement-{org}-netflix"),
                ("sportstream", f"partner-settlement-{org}-sportstream"),
            ]
            handles = [dev_env.client.get_schedule_handle(s["id"]) for s in first.json()["schedules"]]
            handles += [
                dev_env.client.get_schedule_handle(s["id"]) for s in first.json()["settlement_schedules"]
            ]
            try:
                settling = dev_env.client.get_schedule_handle(f"partner-settlement-{org}-netflix")
                described = await settling.describe()
                action = described.schedule.action
                assert isinstance(action, ScheduleActionStartWorkflow)
                assert action.workflow == "PartnerSettlement"
                assert action.id == f"partner-settlement-scheduled-{org}-netflix"
                [calendar] = described.schedule.spec.calendars
                assert [d.start for d in calendar.day_of_month] == [PARTNER_SETTLEMENT_DAY]
                assert [h.start for h in calendar.hour] == [PARTNER_SETTLEMENT_HOUR_UTC]
                await settling.trigger()
                ran = await eventually_async(
                    lambda: settling.describe(),
                    until=lambda d: bool(d.info.recent_actions),
                    timeout=15,
                    what="the settlement schedule's first run",
                )
                started = ran.info.recent_actions[0].action
                run = dev_env.client.get_workflow_handle(
                    started.workflow_id, run_id=started.first_execution_run_id, result_type=StatementMade
                )
                made = await run.result()
                begun = (await run.describe()).start_time
                assert (made.organisation_id, made.provider, made.created) == (org, "netflix", True)
                assert made.month == f"{partners.previous_month(begun, 'UTC'):%Y-%m}"
            finally:
                for handle in handles:
                    await handle.delete()
