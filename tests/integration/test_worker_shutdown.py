"""The worker process on SIGTERM (what Kubernetes sends on a rollout): it stops polling, lets the activity
it is running finish within MULTIBILL_WORKER_GRACEFUL_SHUTDOWN_SECONDS, reports it, and exits 0, so the
work is not retried elsewhere (compare test_billing_kill_worker, where SIGKILL forces a retry).
In production it refuses the development secrets, as the API does."""

from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import date
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.billing.io import RunInput
from runtime.settings import Settings
from runtime.worker import run_worker
from tests.support.billing_runs import subscribe
from tests.support.catalog_factory import plan
from tests.support.eventually import eventually_async
from tests.support.factories import make_operator
from tests.support.subscription_support import running_stack
from tests.support.worker_process import start_worker, worker_process
from workflows.billing_cycle import BillingCycleWorkflow


async def test_sigterm_lets_the_running_activity_finish_and_report(
    settings: Settings, dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    tenant = make_operator(database_url)
    async with running_stack(settings, dev_env.client) as stack:
        code = await plan(stack.api, tenant, prices={"EUR": "10.00"})
        for _ in range(2):
            await subscribe(stack, tenant, code, "2024-01-07", 7)
    queue = f"term-{uuid.uuid4().hex[:8]}"
    address = dev_env.client.service_client.config.target_host
    log = tmp_path / "worker.log"
    hold = tmp_path / "hold-page"
    hold.touch()
    run = RunInput(organisation_id=tenant.organisation_id, bill_day=7, period_date=date(2024, 1, 7))
    first = start_worker(
        settings,
        address,
        queue,
        log,
        MULTIBILL_BILLING_HOLD_PAGE_FILE=str(hold),
        MULTIBILL_WORKER_GRACEFUL_SHUTDOWN_SECONDS="30",
    )
    try:
        handle = await dev_env.client.start_workflow(
            BillingCycleWorkflow.run, run, id=f"billing-term-{queue}", task_queue=queue
        )
        held = tmp_path / "hold-page.held"
        await eventually_async(
            lambda: asyncio.to_thread(held.exists), timeout=60, what=f"{held}", context=log.read_text
        )
        first.send_signal(signal.SIGTERM)  # the page is in the middle of its activity
        await asyncio.sleep(1.5)
        assert first.poll() is None, "the worker quit without waiting for its running activity"
        first.send_signal(signal.SIGTERM)  # a second signal changes nothing
        hold.unlink()  # the activity can finish now
        assert await asyncio.to_thread(first.wait, 20) == 0, log.read_text()
    finally:
        if first.poll() is None:
            first.kill()
    assert "running activities have 30s to finish" in log.read_text()

    pages = await page_attempts(dev_env, handle.id)
    assert pages == {"completed": 1, "retries": 0}, log.read_text()
    with worker_process(settings, address, queue, log, graceful=True):
        summary = await asyncio.wait_for(handle.result(), timeout=120)
    assert summary.result.invoices == 2


async def page_attempts(env: WorkflowEnvironment, workflow_id: str) -> dict[str, int]:
    """How the bill_page activity went: completions, and attempts past the first."""
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    pages = {
        event.event_id
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and event.activity_task_scheduled_event_attributes.activity_type.name == "bill_page"
    }
    started = [
        event.activity_task_started_event_attributes
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and event.activity_task_started_event_attributes.scheduled_event_id in pages
    ]
    completed = [
        event
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
        and event.activity_task_completed_event_attributes.scheduled_event_id in pages
    ]
    return {"completed": len(completed), "retries": sum(1 for s in started if s.attempt > 1)}


async def test_the_worker_refuses_the_development_secret_in_production() -> None:
    production = Settings(environment="production", temporal_address="127.0.0.1:1")
    with pytest.raises(RuntimeError, match="MULTIBILL_SECRET_KEY is the development default"):
        await run_worker(production, asyncio.Event())
    safe_secret = production.model_copy(update={"secret_key": "s" * 40})
    with pytest.raises(RuntimeError, match="MULTIBILL_DATA_KEY is the development default"):
        await run_worker(safe_secret, asyncio.Event())
