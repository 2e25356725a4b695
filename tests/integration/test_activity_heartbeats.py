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
from activities.loyalty.activities import LoyaltyActivities
from activities.loyalty.io import ApplyPage, EvaluateRule, EvaluateRun, ExpirePoints
from activities.maintenance.activities import PartitionActivities
from activities.maintenance.io import MaintainPartitions
from activities.partner_charges.activities import PartnerChargeActivities
from activities.partner_charges.io import Reported, ReportInput
from activities.partner_charges.sessions import PartnerRegistry
from activities.payments.activities import PaymentActivities
from activities.payments.io import CollectionInput
from activities.subscriptions.activities import PrepaidActivities
from integrations.partners.netflix.provider import NetflixProvider
from integrations.payments.base import GatewayRegistry
from models.base import engine_for
from runtime.settings import Settings
from tests.support.factories import make_operator
from tests.support.loyalty_support import rule
from tests.support.netflix_simulator import NETFLIX_OPERATOR, NETFLIX_SECRET, NetflixHarness
from tests.support.partner_factory import make_connection

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
    loyalty = LoyaltyActivities(settings)
    rule_id = rule(
        settings.database_url or "",
        organisation_id,
        "tenure",
        {"criterion": {"kind": "maturity", "months_active": 12}, "award": {"kind": "points", "points": 5}},
    )
    run_id = "lrn_HEARTBEAT" + organisation_id[-17:]  # the awards' run key is checked only on rows written
    on = date(2026, 4, 1)
    evaluate = EvaluateRun(run_id=run_id, rule_ids=[rule_id], period="2026-03", on=on)
    return {
        "LoyaltyActivities.evaluate_run": (
            "loyalty_awards",
            lambda env: env.run(loyalty.evaluate_run, evaluate),
        ),
        "LoyaltyActivities.evaluate_rule": (
            "loyalty_awards",
            lambda env: env.run(
                loyalty.evaluate_rule, EvaluateRule(run_id=run_id, rule_id=rule_id, period="2026-03", on=on)
            ),
        ),
        "LoyaltyActivities.apply_page": (
            "loyalty_awards",
            lambda env: env.run(
                loyalty.apply_page, ApplyPage(run_id=run_id, organisation_id=organisation_id, on=on, limit=10)
            ),
        ),
        "LoyaltyActivities.expire_points": (
            "loyalty_point_movements",
            lambda env: env.run(loyalty.expire_points, ExpirePoints(organisation_id=organisation_id, on=on)),
        ),
        "BillingActivities.plan_pages": ("subscriptions", lambda env: env.run(billing.plan_pages, run)),
        "BillingActivities.plan_page_ends": (
            "subscriptions",
            lambda env: env.run(billing.plan_page_ends, run),
        ),
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
    "BillingActivities.plan_page_ends",
    "PrepaidActivities.renew",
    "PaymentActivities.plan_collection",
    "RetentionActivities.prune",
    "PartitionActivities.maintain",
    "LoyaltyActivities.evaluate_run",
    "LoyaltyActivities.evaluate_rule",
    "LoyaltyActivities.apply_page",
    "LoyaltyActivities.expire_points",
]


@pytest.mark.parametrize("name", PROVEN)
def test_the_activity_heartbeats_while_its_query_waits(
    settings: Settings, database_url: str, name: str
) -> None:
    tenant = make_operator(database_url)
    table, run = runs(settings, tenant.organisation_id)[name]
    assert beats_while_locked(database_url, table, run) >= 3


def test_partner_report_heartbeats_while_its_query_waits(
    settings: Settings, database_url: str, netflix: NetflixHarness
) -> None:
    """Its session needs a configured provider (the Netflix simulator over HTTP); then the unreported
    charges' query waits on the lock."""
    operator = make_operator(database_url).organisation_id
    make_connection(settings, operator, "netflix", netflix.url, NETFLIX_OPERATOR, NETFLIX_SECRET)
    registry = PartnerRegistry()
    registry.register(NetflixProvider(timeout_seconds=2.0))
    partner = PartnerChargeActivities(settings, registry)
    request = ReportInput(organisation_id=operator, provider="netflix", at=datetime(2026, 3, 1, tzinfo=UTC))
    reported: list[Reported] = []
    beats = beats_while_locked(
        database_url, "partner_charges", lambda env: reported.append(env.run(partner.report, request))
    )
    assert beats >= 3
    assert reported == [Reported()]  # nothing decided: nothing sent, after the wait


PROVEN_APART = {"PartnerChargeActivities.report"}  # by the test above (it needs the simulator)


def test_every_activity_with_a_heartbeat_timeout_is_proven_to_heartbeat() -> None:
    started = set()
    for path in WORKFLOWS.glob("*.py"):
        text = path.read_text()
        for opening in re.finditer(r"execute_activity_method\(", text):
            end, depth = opening.end(), 1  # the call's whole text, nested parentheses included
            while depth:
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                end += 1
            call = text[opening.end() : end - 1]
            if "heartbeat_timeout" in call:
                started.add(call.split(",")[0].strip())
    assert started == set(PROVEN) | PROVEN_APART | COVERED_ELSEWHERE
