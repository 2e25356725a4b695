"""Onboarding since ``onboarding-local-steps``: its database steps run as local activities, provisioning
stays an activity; since ``onboarding-one-opening-step`` the subscription and its activation charges are
one of them. Its history is recorded by ``python -m tests.workflows.record_histories one_opening_step``
(``local_steps``: the history before the second patch) and replayed by ``test_replay.py``."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.subscriptions import onboarding
from activities.subscriptions import records as store
from domain.principal import Principal
from models.base import unit_of_work
from models.subscriptions import PendingCharge
from runtime.settings import Settings
from tests.support.onboarding_worker import onboarding_input, worker_for
from tests.support.subscription_support import Shop
from workflows.onboarding import OnboardingWorkflow

pytestmark = pytest.mark.calendar


async def test_onboarding_runs_its_database_steps_as_local_activities(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    database_url: str,
    onboarding_shop: tuple[Shop, Principal],
) -> None:
    made, principal = onboarding_shop
    worker, queue, adapter = worker_for(time_skipping_env, settings)
    order = onboarding_input(database_url, made, principal, made.cheap)
    async with worker:
        handle = await time_skipping_env.client.start_workflow(
            OnboardingWorkflow.run, order, id=order.process_id, task_queue=queue.task_queue
        )
        result = await handle.result()
        history = await handle.fetch_history()
    assert (result.subscription_id, result.status) == (order.subscription_id, "active")
    kinds = [event.event_type for event in history.events]
    scheduled = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    markers = [
        event.marker_recorded_event_attributes.marker_name
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]
    # provisioning is the one activity task; opening (create and charges), activate and the welcome are local
    assert scheduled == ["provision_service"]
    assert markers.count("core_local_activity") == 3 and markers.count("core_patch") == 2
    assert kinds.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 2
    assert [a for a, _ in adapter.actions()] == ["activate"]
    with unit_of_work(database_url) as session:
        sub = store.load(session, order.subscription_id)
        assert (sub.status, sub.active_process_id) == ("active", None)
        assert [s.status for s in store.services(session, sub.id)] == ["active"]
        charges = session.execute(select(PendingCharge).where(PendingCharge.subscription_id == sub.id))
        assert [(c.kind, c.amount_minor, c.status) for c in charges.scalars()] == [
            ("one_off", 2500, "pending")
        ]


async def test_the_opening_step_writes_the_subscription_and_its_charges_once(
    database_url: str, onboarding_shop: tuple[Shop, Principal]
) -> None:
    made, principal = onboarding_shop
    order = onboarding_input(database_url, made, principal, made.cheap)
    answers = []
    for _ in range(2):  # a retry after a committed attempt (the worker died before answering)
        with unit_of_work(database_url) as session:
            answers.append(onboarding.open_subscription(session, order))
    assert answers[0] == answers[1] and answers[0].status == "draft"
    with unit_of_work(database_url) as session:
        charges = session.execute(
            select(PendingCharge.amount_minor).where(PendingCharge.subscription_id == order.subscription_id)
        )
        assert list(charges.scalars()) == [2500]
        assert len(store.services(session, order.subscription_id)) == 1
