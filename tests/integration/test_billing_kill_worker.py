"""Kill the worker (SIGKILL, a real process) in the middle of a bill run and start another: the run
completes with exactly one invoice per due subscription; a page killed after its commit but before its
completion still reports what it billed, those invoices are collected, and the page is retried within
its heartbeat timeout (seconds, not minutes)."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from datetime import date
from pathlib import Path

import httpx
import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from activities.billing.io import RunInput
from models.base import engine_for
from runtime.settings import Settings
from tests.support.billing_runs import subscribe
from tests.support.catalog_factory import plan
from tests.support.eventually import eventually_async
from tests.support.factories import make_operator
from tests.support.localstripe import LocalStripe
from tests.support.payment_support import add_card, rows
from tests.support.subscription_support import running_stack
from tests.support.worker_process import stripe_env, worker_process
from workflows.billing_cycle import BillingCycleWorkflow
from workflows.collection import CollectionSummary

ACCOUNTS = 16


def count(database_url: str, sql: str, org: str) -> int:
    with engine_for(database_url).connect() as conn:
        return int(conn.execute(sa.text(sql), {"o": org}).scalar_one())


async def test_a_killed_worker_bills_nothing_twice(
    settings: Settings, dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    tenant = make_operator(database_url)
    async with running_stack(settings, dev_env.client) as stack:
        code = await plan(stack.api, tenant, prices={"EUR": "10.00"})
        for _ in range(ACCOUNTS):
            await subscribe(stack, tenant, code, "2024-01-07", 7)
    queue = f"kill-{uuid.uuid4().hex[:8]}"
    address = dev_env.client.service_client.config.target_host
    log = tmp_path / "worker.log"
    invoices = "select count(*) from invoices where organisation_id = :o"
    run = RunInput(
        organisation_id=tenant.organisation_id,
        bill_day=7,
        period_date=date(2024, 3, 7),
        page_size=1,
        parallelism=1,
        heartbeat_seconds=2,
    )
    with worker_process(settings, address, queue, log) as first:
        handle = await dev_env.client.start_workflow(
            BillingCycleWorkflow.run, run, id=f"billing-kill-{queue}", task_queue=queue
        )
        await eventually_async(
            lambda: asyncio.to_thread(count, database_url, invoices, tenant.organisation_id),
            until=lambda billed: billed >= 2,
            timeout=30,
            what="two invoices before the kill",
            context=log.read_text,
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        billed_when_killed = count(database_url, invoices, tenant.organisation_id)
        assert 2 <= billed_when_killed < ACCOUNTS, log.read_text()
        with worker_process(settings, address, queue, log, graceful=True):
            summary = await asyncio.wait_for(handle.result(), timeout=120)
    assert summary.status == "completed"
    assert count(database_url, invoices, tenant.organisation_id) == ACCOUNTS
    assert (
        count(
            database_url,
            "select count(distinct account_id) from invoices where organisation_id = :o",
            tenant.organisation_id,
        )
        == ACCOUNTS
    )
    assert (
        count(
            database_url,
            "select count(*) from billed_periods b join subscriptions s on s.id = b.subscription_id"
            " where s.organisation_id = :o",
            tenant.organisation_id,
        )
        == ACCOUNTS * 3
    )


async def test_a_page_killed_after_its_commit_is_reported_collected_and_retried_promptly(
    settings: Settings,
    dev_env: WorkflowEnvironment,
    database_url: str,
    tmp_path: Path,
    pay_api: httpx.AsyncClient,
    localstripe: LocalStripe,
) -> None:
    """One page of three accounts commits, then its worker dies before Temporal records the completion:
    the retry (on another worker) finds them billed, still reports the three invoices, the run's
    Collection charges them, and the retry starts within the default heartbeat timeout."""
    tenant = make_operator(database_url)
    accounts = []
    async with running_stack(settings, dev_env.client) as stack:
        code = await plan(stack.api, tenant, prices={"EUR": "10.00"})
        for _ in range(3):
            account_id = (await subscribe(stack, tenant, code, "2024-01-07", 7))["account_id"]
            assert (await add_card(pay_api, tenant, account_id, localstripe)).status_code == 201
            accounts.append(account_id)
    queue = f"hold-{uuid.uuid4().hex[:8]}"
    address = dev_env.client.service_client.config.target_host
    log = tmp_path / "worker.log"
    hold = tmp_path / "hold-page"
    hold.touch()
    stripe = stripe_env(localstripe.url)
    run = RunInput(organisation_id=tenant.organisation_id, bill_day=7, period_date=date(2024, 1, 7))
    assert run.page_size >= 3  # one page, so a page reporting nothing would leave the run with nothing
    with worker_process(
        settings, address, queue, log, MULTIBILL_BILLING_HOLD_PAGE_FILE=str(hold), **stripe
    ) as first:
        handle = await dev_env.client.start_workflow(
            BillingCycleWorkflow.run, run, id=f"billing-hold-{queue}", task_queue=queue
        )
        held = tmp_path / "hold-page.held"
        await eventually_async(
            lambda: asyncio.to_thread(held.exists), timeout=60, what=f"{held}", context=log.read_text
        )
        first.send_signal(signal.SIGKILL)  # the page's transaction committed; its completion is lost
        first.wait(timeout=10)
        killed_at = time.monotonic()
        invoices = "select count(*) from invoices where organisation_id = :o"
        assert count(database_url, invoices, tenant.organisation_id) == 3
        with worker_process(settings, address, queue, log, **stripe, graceful=True):
            summary = await asyncio.wait_for(handle.result(), timeout=150)
            retried_within = time.monotonic() - killed_at
            collection = dev_env.client.get_workflow_handle(
                f"collection-{summary.run.run_id}", result_type=CollectionSummary
            )
            collected = await asyncio.wait_for(collection.result(), timeout=60)
    assert (summary.result.invoices, summary.result.lines, summary.result.amounts) == (3, 3, {"EUR": 3000})
    assert retried_within < 60, f"the killed page was retried only after {retried_within:.0f} s"
    run_id = summary.run.run_id
    stored = rows(database_url, "select counts, amounts from billing_runs where id = :r", r=run_id)
    assert (stored[0]["counts"]["invoices"], stored[0]["amounts"]) == (3, {"EUR": 3000})
    assert collected.counts == {"succeeded": 3}
    paid = rows(
        database_url,
        "select status, paid_minor from invoices where organisation_id = :o order by id",
        o=tenant.organisation_id,
    )
    assert paid == [{"status": "paid", "paid_minor": 1000}] * 3
