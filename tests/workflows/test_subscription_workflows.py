"""Subscription workflows on the time-skipping server: a scheduled downgrade fires on its date, a refused
activation is compensated, suspend/resume/terminate/regret. Their histories are recorded by
``python -m tests.workflows.record_histories`` and replayed by ``test_replay.py``."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.subscriptions import records as store
from activities.subscriptions.changes import ActionRequest, ChangeRequest, prepare_action, prepare_change
from domain.principal import Principal
from models.base import unit_of_work
from models.subscriptions import PendingCharge
from runtime.settings import Settings
from tests.support.onboarding_worker import onboarding_input, worker_for
from tests.support.subscription_support import Shop
from workflows.onboarding import OnboardingWorkflow
from workflows.subscription_change import PlanChangeWorkflow, SubscriptionActionWorkflow

pytestmark = pytest.mark.calendar


async def test_scheduled_downgrade_applies_on_its_date(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    onboarding_shop: tuple[Shop, Principal],
) -> None:
    made, principal = onboarding_shop
    worker, queue, adapter = worker_for(time_skipping_env, settings)
    order = onboarding_input(database_url, made, principal, made.dear)
    async with worker:
        onboarded = await time_skipping_env.client.execute_workflow(
            OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
        )
        assert onboarded.status == "active"
        with unit_of_work(database_url) as session:
            sub = store.load(session, order.subscription_id, lock=True)
            process_id = f"change-{sub.id}"
            change = prepare_change(
                session,
                sub,
                ChangeRequest(type="change_plan", plan=made.cheap, effective_date=date(2024, 1, 10)),
                process_id,
                "test",
            )
            store.acquire(session, sub.id, process_id)
        assert change.timing == "end_of_term" and change.effective_on == date(2024, 2, 1)
        handle = await time_skipping_env.client.start_workflow(
            PlanChangeWorkflow.run, change, id=process_id, task_queue=queue.task_queue
        )
        result = await handle.result()
        assert result.step == "done"
    with unit_of_work(database_url) as session:
        services = store.services(session, order.subscription_id)
        assert [(s.plan_code, s.status, str(s.started_on), str(s.ended_on)) for s in services] == [
            (made.dear, "terminated", "2024-01-01", "2024-02-01"),
            (made.cheap, "active", "2024-02-01", "None"),
        ]
        assert store.load(session, order.subscription_id).active_process_id is None
    assert [a for a, _ in adapter.actions()] == ["activate", "change"]


async def test_onboarding_compensates_on_the_time_skipping_server(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    onboarding_shop: tuple[Shop, Principal],
) -> None:
    made, principal = onboarding_shop
    worker, queue, adapter = worker_for(time_skipping_env, settings)
    adapter.refuse.add("activate")
    order = onboarding_input(database_url, made, principal, made.cheap)
    async with worker:
        result = await time_skipping_env.client.execute_workflow(
            OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
        )
    assert result.status == "failed" and "refuses activate" in (result.reason or "")
    with unit_of_work(database_url) as session:
        sub = store.load(session, order.subscription_id)
        assert (sub.status, sub.active_process_id) == ("failed", None)
        assert [s.status for s in store.services(session, sub.id)] == ["failed"]


@pytest.mark.today("2024-01-12T10:00:00+00:00")  # regret is judged against today: in the cooling-off period
async def test_suspend_resume_terminate_and_regret_paths(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    onboarding_shop: tuple[Shop, Principal],
) -> None:
    made, principal = onboarding_shop
    worker, queue, adapter = worker_for(time_skipping_env, settings)

    async def act(sub_id: str, action: str, **fields: object) -> str:
        with unit_of_work(database_url) as session:
            sub = store.load(session, sub_id, lock=True)
            process_id = f"{action}-{sub_id}-{uuid.uuid4().hex[:6]}"
            plan = prepare_action(session, sub, action, ActionRequest(**fields), process_id, "test")  # type: ignore[arg-type]
            store.acquire(session, sub.id, process_id)
        handle = await time_skipping_env.client.start_workflow(
            SubscriptionActionWorkflow.run, plan, id=process_id, task_queue=queue.task_queue
        )
        assert (await handle.result()).step == "done"
        with unit_of_work(database_url) as session:
            return store.load(session, sub_id).status

    async with worker:
        first = onboarding_input(database_url, made, principal, made.cheap)
        await time_skipping_env.client.execute_workflow(
            OnboardingWorkflow.run, first, id=first.process_id, task_queue=queue.task_queue
        )
        assert (
            await act(
                first.subscription_id,
                "suspend",
                reason="travel",
                effective_date=date(2024, 1, 21),
                pause_billing=True,
            )
            == "suspended"
        )
        assert await act(first.subscription_id, "resume", effective_date=date(2024, 1, 26)) == "active"
        assert await act(first.subscription_id, "terminate", effective_date=date(2024, 1, 30)) == "terminated"
        second = onboarding_input(database_url, made, principal, made.cheap)
        await time_skipping_env.client.execute_workflow(
            OnboardingWorkflow.run, second, id=second.process_id, task_queue=queue.task_queue
        )
        with unit_of_work(database_url) as session:  # started 2024-01-01: 14 days to regret
            assert store.load(session, second.subscription_id).cooling_off_until == date(2024, 1, 15)
        assert await act(second.subscription_id, "regret", reason="changed my mind") == "regretted"
    assert [a for a, _ in adapter.actions()] == [
        "activate",
        "suspend",
        "resume",
        "terminate",
        "activate",
        "terminate",
    ]
    with unit_of_work(database_url) as session:
        rows = session.query(PendingCharge).filter_by(subscription_id=first.subscription_id)
        charges = [c.amount_minor for c in rows.order_by(PendingCharge.created_at)]
    assert charges[1:] == [-1100, 600, -200]  # pause 11/31, resume 6/31, terminate 2/31 of 31.00
