"""Kill the worker (SIGKILL, a real process) in the middle of a LoyaltyAward run, twice, and start another
each time: the run completes with every (rule, account, period) awarded exactly once — each wallet credit
posted once, each points balance its one earn movement — and a step killed while it runs is retried
within the run's heartbeat timeout, not after the ten-minute bound of a bulk step.

The first kill is certain to land inside the evaluation: the test holds a SHARE lock on loyalty_awards,
so the evaluation's INSERT waits (seen in pg_stat_activity) until the worker is dead. The second lands
wherever the wallet credits' pages (one award a page) are when two of them are applied."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment

from activities.loyalty.io import AwardRunInput
from models.base import engine_for
from runtime.settings import Settings
from tests.support.eventually import eventually_async
from tests.support.factories import make_operator
from tests.support.loyalty_support import awarded, customer, programme, rule, scalar
from tests.support.worker_process import worker_process
from workflows.loyalty_award import LoyaltyAwardWorkflow

ACCOUNTS = 30
APPLIED = (
    "select count(*) from loyalty_awards where organisation_id = :o and kind = 'wallet_credit'"
    " and status = 'applied'"
)
WAITING = (
    "select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
    " and query ilike '%insert into loyalty_awards%'"
)


@contextmanager
def awards_locked(database_url: str) -> Iterator[None]:
    """Hold a SHARE lock on loyalty_awards (inserts wait) until the block ends."""
    with engine_for(database_url).connect() as conn, conn.begin():
        conn.execute(sa.text("lock table loyalty_awards in share mode"))
        yield


async def test_a_killed_worker_awards_nothing_twice_and_nothing_is_missed(
    settings: Settings, dev_env: WorkflowEnvironment, database_url: str, tmp_path: Path
) -> None:
    org = make_operator(database_url).organisation_id
    programme(database_url, org, value="1")
    members = [customer(database_url, org, since=date(2024, 1, 1)) for _ in range(ACCOUNTS)]
    rule(
        database_url,
        org,
        "tenure",
        {"criterion": {"kind": "maturity", "months_active": 12}, "award": {"kind": "points", "points": 40}},
    )
    rule(
        database_url,
        org,
        "thanks",
        {
            "criterion": {"kind": "maturity", "months_active": 12},
            "award": {"kind": "wallet_credit", "amount_minor": 125, "currency": "EUR"},
        },
    )
    queue = f"loyalty-kill-{uuid.uuid4().hex[:8]}"
    address = dev_env.client.service_client.config.target_host
    log = tmp_path / "worker.log"
    # Wallet credits are applied page by page (one award a page here): the run is long enough to be killed.
    request = AwardRunInput(
        organisation_id=org, period="2026-03", on=date(2026, 4, 1), page_size=1, heartbeat_seconds=2
    )

    def applied() -> int:
        return int(scalar(database_url, APPLIED, o=org))

    with awards_locked(database_url), worker_process(settings, address, queue, log) as first:
        handle = await dev_env.client.start_workflow(
            LoyaltyAwardWorkflow.run, request, id=f"loyalty-kill-{queue}", task_queue=queue
        )
        await eventually_async(
            lambda: asyncio.to_thread(scalar, database_url, WAITING),
            until=lambda waiting: waiting >= 1,
            timeout=60,
            what="the evaluation waiting on loyalty_awards",
            context=log.read_text,
        )
        first.send_signal(signal.SIGKILL)  # mid-evaluation: its transaction can never commit
        first.wait(timeout=10)
    with worker_process(settings, address, queue, log) as second:
        await eventually_async(
            lambda: asyncio.to_thread(applied),
            until=lambda count: count >= 2,
            timeout=60,
            what="two wallet credits applied before the second kill",
            context=log.read_text,
        )
        second.send_signal(signal.SIGKILL)
        second.wait(timeout=10)
    killed_at = time.monotonic()
    assert 2 <= applied() < ACCOUNTS, log.read_text()
    with worker_process(settings, address, queue, log, graceful=True):
        report = await asyncio.wait_for(handle.result(), timeout=120)
        finished_within = time.monotonic() - killed_at
    assert finished_within < 60, f"the run finished {finished_within:.0f} s after the kill"
    assert report.status == "completed"
    assert {r.code: (r.awards, r.applied, r.points, r.amount_minor) for r in report.rules} == {
        "tenure": (ACCOUNTS, ACCOUNTS, 40 * ACCOUNTS, 0),
        "thanks": (ACCOUNTS, ACCOUNTS, 0, 125 * ACCOUNTS),
    }
    assert len(awarded(database_url, org)) == 2 * ACCOUNTS
    for member in members:
        acc = member.account_id
        assert (
            scalar(database_url, "select balance from loyalty_point_balances where account_id = :a", a=acc)
            == 40
        )
        assert scalar(database_url, "select balance_minor from wallets where account_id = :a", a=acc) == 125
        credits = (
            "select count(*) from wallet_transactions t join wallets w on w.id = t.wallet_id"
            " where w.account_id = :a"
        )
        assert scalar(database_url, credits, a=acc) == 1
    entries = "select count(*) from ledger_entries where organisation_id = :o"
    assert scalar(database_url, entries, o=org) == ACCOUNTS  # one balanced entry per wallet credit
