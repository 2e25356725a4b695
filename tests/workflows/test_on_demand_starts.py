"""On-demand plans expire: Onboarding and add-on purchases start OnDemandAccess, which deprovisions the
service when its access window ends (time-skipping server).

Each test has its own time-skipping server: once an abandoned child outlives its closed parent and
completes, the test server stops skipping time (temporalio/sdk-typescript#1101), which would stall
the tests after it on a shared server.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.accounts.organisations import authenticate
from activities.subscriptions import records as store
from activities.subscriptions.changes import ChangeRequest, prepare_change
from activities.subscriptions.io import OnboardingInput
from activities.subscriptions.onboarding import SubscriptionOrder, prepare_onboarding
from api.app import create_app
from domain import process_ids
from domain.ids import new_id
from domain.principal import Principal
from models.base import unit_of_work
from models.billing import InvoiceLine
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.catalog_factory import plan, post, product
from tests.support.factories import Tenant, make_operator, person
from tests.support.subscription_support import RecordingAdapter, worker_activities
from workflows.onboarding import OnboardingWorkflow
from workflows.subscription_change import PlanChangeWorkflow


@dataclass
class Catalogue:
    principal: Principal
    account_id: str
    base: str
    film: str  # a 48-hour rental add-on
    tenant: Tenant


@pytest.fixture
async def env(own_time_skipping_env: WorkflowEnvironment) -> WorkflowEnvironment:
    return own_time_skipping_env


@pytest.fixture
async def catalogue(settings: Settings, database_url: str) -> AsyncIterator[Catalogue]:
    tenant = make_operator(database_url)
    app = create_app(settings.model_copy(update={"temporal_address": "127.0.0.1:1"}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api:
        tv = await product(api, tenant, "video")
        film = await plan(
            api, tenant, product_code=tv, role="addon", access_hours=48, on_demand_prices={"EUR": "4.99"}
        )
        net = await product(api, tenant, "broadband")
        rules = [{"plan_code": film, "rule": "allowed"}]
        base = await plan(api, tenant, product_code=net, prices={"EUR": "30.00"}, addons=rules)
        account = await post(api, tenant, "/v1/accounts", person())
    with unit_of_work(database_url) as session:
        principal = authenticate(session, tenant.token)
    assert principal is not None
    yield Catalogue(principal, account["id"], base, film, tenant)


def onboarding(database_url: str, catalogue: Catalogue, addons: list[str]) -> OnboardingInput:
    order = SubscriptionOrder(
        account_id=catalogue.account_id,
        items=[{"plan": catalogue.base, "addons": addons}],  # type: ignore[list-item]
        start_date=date(2024, 1, 1),
        bill_day=1,
    )
    sub_id = new_id("sub")
    with unit_of_work(database_url) as session:
        return prepare_onboarding(
            session,
            catalogue.principal,
            order,
            subscription_id=sub_id,
            process_id=f"onboarding-{sub_id}",
            request_id=uuid.uuid4().hex,
        )


async def skipping_result(env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any]) -> Any:
    """The result of a workflow the test did not start itself (such a handle does not skip time)."""
    async with cast(Any, env).time_skipping_unlocked():
        return await handle.result()


def orders(adapter: RecordingAdapter) -> list[tuple[str, str, bool]]:
    """(action, service, carries an expiry) of every order the platform received."""
    return [(o.action.value, o.service_id, o.expires_at is not None) for o in adapter.orders]


async def assert_ends_on_time(env: WorkflowEnvironment, video: RecordingAdapter, service: str) -> None:
    handle = env.client.get_workflow_handle(process_ids.on_demand_access(service), result_type=None)
    access = await skipping_result(env, handle)
    described = await handle.describe()
    assert access["outcome"] == "expired"
    assert orders(video) == [("activate", service, True), ("terminate", service, False)]
    expires_at = datetime.fromisoformat(video.orders[0].expires_at or "")
    assert expires_at == datetime.fromisoformat(access["expires_at"])
    assert timedelta(hours=48) - (expires_at - described.start_time) < timedelta(minutes=1)
    assert described.close_time is not None
    assert timedelta(0) <= described.close_time - expires_at < timedelta(minutes=1)


async def test_a_rental_sold_at_onboarding_is_deprovisioned_after_48_hours(
    env: WorkflowEnvironment, settings: Settings, database_url: str, catalogue: Catalogue
) -> None:
    queue = settings.model_copy(update={"task_queue": f"ondemand-{uuid.uuid4().hex[:8]}"})
    broadband = RecordingAdapter("radius-test", frozenset({"broadband"}))
    video = RecordingAdapter("ott-test", frozenset({"video"}))
    order = onboarding(database_url, catalogue, [catalogue.film])
    async with build_worker(env.client, queue, activities=worker_activities(queue, broadband, video)):
        result = await env.client.execute_workflow(
            OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
        )
        assert result.status == "active"
        with unit_of_work(database_url) as session:
            services = store.services(session, order.subscription_id)
            rental = next(s.line_id for s in services if s.plan_code == catalogue.film)
        assert orders(video) == [("activate", rental, True)]
        await assert_ends_on_time(env, video, rental)
    assert [a for a, _ in broadband.actions()] == ["activate"]


async def test_a_rental_bought_as_an_addon_is_deprovisioned_after_48_hours(
    env: WorkflowEnvironment, settings: Settings, database_url: str, catalogue: Catalogue
) -> None:
    queue = settings.model_copy(update={"task_queue": f"ondemand-{uuid.uuid4().hex[:8]}"})
    broadband = RecordingAdapter("radius-test", frozenset({"broadband"}))
    video = RecordingAdapter("ott-test", frozenset({"video"}))
    order = onboarding(database_url, catalogue, [])
    async with build_worker(env.client, queue, activities=worker_activities(queue, broadband, video)):
        result = await env.client.execute_workflow(
            OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
        )
        assert result.status == "active" and video.orders == []
        with unit_of_work(database_url) as session:
            sub = store.load(session, order.subscription_id, lock=True)
            process_id = f"change-{sub.id}"
            change = prepare_change(
                session, sub, ChangeRequest(type="add_addon", plan=catalogue.film), process_id, "test"
            )
            store.acquire(session, sub.id, process_id)
        changed = await env.client.execute_workflow(
            PlanChangeWorkflow.run, change, id=process_id, task_queue=queue.task_queue
        )
        assert changed.step == "done"
        assert len(video.orders) == 1
        await assert_ends_on_time(env, video, video.orders[0].service_id)


async def test_the_rental_row_ends_with_its_window_and_a_later_bill_run_does_not_bill_it(
    env: WorkflowEnvironment, settings: Settings, database_url: str, catalogue: Catalogue
) -> None:
    queue = settings.model_copy(update={"task_queue": f"ondemand-{uuid.uuid4().hex[:8]}"})
    broadband = RecordingAdapter("radius-test", frozenset({"broadband"}))
    video = RecordingAdapter("ott-test", frozenset({"video"}))
    order = onboarding(database_url, catalogue, [catalogue.film])
    app = create_app(queue, temporal_client=env.client)
    async with (
        build_worker(env.client, queue, activities=worker_activities(queue, broadband, video)),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as api,
    ):
        await env.client.execute_workflow(
            OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
        )
        with unit_of_work(database_url) as session:
            rental = next(
                s for s in store.services(session, order.subscription_id) if s.plan_code == catalogue.film
            )
            rental_id, rental_line, tz = (
                rental.id,
                rental.line_id,
                store.load(session, order.subscription_id).timezone,
            )
            assert rental.status == "active" and rental.ended_on is None
        handle = env.client.get_workflow_handle(process_ids.on_demand_access(rental_line), result_type=None)
        access = await skipping_result(env, handle)
        ended_on = datetime.fromisoformat(access["expires_at"]).astimezone(ZoneInfo(tz)).date()
        with unit_of_work(database_url) as session:
            rows = {s.id: (s.status, s.ended_on) for s in store.services(session, order.subscription_id)}
        assert rows[rental_id] == ("terminated", ended_on)
        assert [v for k, v in rows.items() if k != rental_id] == [("active", None)]  # the base plan goes on
        # the first bill run (January) bills the rental's one-off price; the next one nothing of it
        for period_date in ("2024-01-01", "2024-02-01"):
            resp = await api.post(
                "/v1/billing-runs",
                headers=catalogue.tenant.post_headers(),
                json={"bill_day": 1, "period_date": period_date},
            )
            assert resp.status_code == 202, resp.text
            await skipping_result(env, env.client.get_workflow_handle(resp.json()["process_id"]))
    with unit_of_work(database_url) as session:
        lines = session.execute(
            sa.select(InvoiceLine.kind, InvoiceLine.amount_minor).where(InvoiceLine.service_id == rental_id)
        ).all()
    assert [tuple(line) for line in lines] == [("on_demand", 499)]
