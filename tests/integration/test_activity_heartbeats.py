"""Every activity a workflow starts with a heartbeat timeout heartbeats within it, also while one query
waits (here: on a table another transaction holds locked), so a worker that dies there is noticed within
that timeout rather than the start-to-close one. Each runs in Temporal's activity test environment with a
one-second heartbeat timeout, on the real database."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from temporalio.testing import ActivityEnvironment

from activities.billing.activities import BillingActivities
from activities.billing.io import RunInput
from activities.events.activities import RetentionActivities
from activities.events.io import PruneEvents
from activities.maintenance.activities import PartitionActivities
from activities.maintenance.io import MaintainPartitions
from activities.payments.activities import PaymentActivities
from activities.payments.io import CollectionInput
from activities.subscriptions.activities import PrepaidActivities
from integrations.payments.base import GatewayRegistry
from models.base import engine_for
from runtime.settings import Settings
from tests.support.factories import make_operator

HELD = 1.5  # seconds the table stays locked: six heartbeats are due in that time
WORKFLOWS = Path(__file__).parents[2] / "workflows"
COVERED_ELSEWHERE = {  # heartbeating() around their whole body; their kill tests prove the retry
    "BillingActivities.bill_page",
    "PaymentActivities.collect_batch",
    # heartbeating() around the partner's answer only (a slow partner):
    # tests/workflows/test_partner_charges.py::test_a_slow_and_failing_partner_is_retried
    "PartnerChargeActivities.fetch",
}


def beats_while_locked(database_url: str, table: str, run: Callable[[ActivityEnvironment], Any]) -> int:
    """How many heartbeats ``run`` sends while ``table`` is locked by another transaction."""
    env = ActivityEnvironment()
    env.info = replace(env.info, heartbeat_timeout=timedelta(seconds=1))
    beats: list[float] = []
    env.on_heartbeat = lambda *_: beats.append(time.monotonic())
    locked, released = threading.Event(), [0.0]

    def hold() -> None:
        with engine_for(database_url).begin() as conn:
            conn.execute(sa.text(f"lock table {table} in access exclusive mode"))
            locked.set()
            time.sleep(HELD)
            released[0] = time.monotonic()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    run(env)
    holder.join()
    return len([t for t in beats if t < released[0]])


def runs(
    settings: Settings, organisation_id: str
) -> dict[str, tuple[str, Callable[[ActivityEnvironment], Any]]]:
    run = RunInput(organisation_id=organisation_id, bill_day=1, period_date=date(2024, 1, 1))
    billing, prepaid = BillingActivities(settings), PrepaidActivities(settings)
    payments = PaymentActivities(settings, GatewayRegistry())
    collection = CollectionInput(organisation_id=organisation_id)
    retention = RetentionActivities(settings)
    long_ago = PruneEvents(before=datetime(2000, 1, 1, tzinfo=UTC))  # waits on the lock, deletes nothing
    long_before = MaintainPartitions(on=date(1975, 1, 1))
    return {
        "BillingActivities.plan_pages": ("subscriptions", lambda env: env.run(billing.plan_pages, run)),
        "PrepaidActivities.renew": ("subscriptions", lambda env: env.run(prepaid.renew, run)),
        "PaymentActivities.plan_collection": (
            "invoices",
            lambda env: env.run(payments.plan_collection, collection),
        ),
        "RetentionActivities.prune": ("business_events", lambda env: env.run(retention.prune, long_ago)),
        "PartitionActivities.maintain": (  # the keys' prune waits on the lock, deletes nothing
            "usage_event_keys",
            lambda env: env.run(PartitionActivities(settings).maintain, long_before),
        ),
    }


PROVEN = [
    "BillingActivities.plan_pages",
    "PrepaidActivities.renew",
    "PaymentActivities.plan_collection",
    "RetentionActivities.prune",
    "PartitionActivities.maintain",
]


@pytest.mark.parametrize("name", PROVEN)
def test_the_activity_heartbeats_while_its_query_waits(
    settings: Settings, database_url: str, name: str
) -> None:
    tenant = make_operator(database_url)
    table, run = runs(settings, tenant.organisation_id)[name]
    assert beats_while_locked(database_url, table, run) >= 3


def test_every_activity_with_a_heartbeat_timeout_is_proven_to_heartbeat() -> None:
    started = set()
    for path in WORKFLOWS.glob("*.py"):
        for call in re.findall(r"execute_activity_method\((.*?)\n\s*\)", path.read_text(), re.S):
            if "heartbeat_timeout" in call:
                started.add(call.split(",")[0].strip())
    assert started == set(PROVEN) | COVERED_ELSEWHERE
