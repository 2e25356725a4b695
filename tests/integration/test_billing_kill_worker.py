"""Kill the worker (SIGKILL, a real process) in the middle of a bill run and start another: the run
completes with exactly one invoice per due subscription."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from activities.billing import RunInput
from models.base import engine_for
from runtime.settings import Settings
from tests.catalog_factory import plan, post
from tests.factories import make_operator, person
from tests.subscription_support import running_stack, wait_process
from workflows.billing_cycle import BillingCycleWorkflow

ACCOUNTS = 16


def start_worker(settings: Settings, address: str, queue: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "TEMPORAL_ADDRESS": address,
        "MULTIBILL_TASK_QUEUE": queue,
        "MULTIBILL_SMTP_PORT": str(settings.smtp_port),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "runtime.cli", "worker"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


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
            account = await post(stack.api, tenant, "/v1/accounts", person())
            resp = await stack.api.post(
                "/v1/subscriptions",
                headers=tenant.post_headers(),
                json={
                    "account_id": account["id"],
                    "items": [{"plan": code}],
                    "start_date": "2024-01-07",
                    "bill_day": 7,
                },
            )
            await wait_process(stack.api, tenant, resp.json()["process_id"])
    queue = f"kill-{uuid.uuid4().hex[:8]}"
    address = dev_env.client.service_client.config.target_host
    log = tmp_path / "worker.log"
    invoices = "select count(*) from invoices where organisation_id = :o"
    first = start_worker(settings, address, queue, log)
    run = RunInput(
        organisation_id=tenant.organisation_id,
        bill_day=7,
        period_date=date(2024, 3, 7),
        page_size=1,
        parallelism=1,
        heartbeat_seconds=2,
    )
    handle = await dev_env.client.start_workflow(
        BillingCycleWorkflow.run, run, id=f"billing-kill-{queue}", task_queue=queue
    )
    try:
        for _ in range(600):
            if count(database_url, invoices, tenant.organisation_id) >= 2:
                break
            await asyncio.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        billed_when_killed = count(database_url, invoices, tenant.organisation_id)
        assert 2 <= billed_when_killed < ACCOUNTS, log.read_text()
        second = start_worker(settings, address, queue, log)
        try:
            summary = await asyncio.wait_for(handle.result(), timeout=120)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
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
