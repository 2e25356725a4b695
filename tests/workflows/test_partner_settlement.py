"""PartnerSettlement on the time-skipping server and the real database: the scheduled run settles the month
before in the connection's time zone exactly once however often it runs, a run with no instant settles
the month before its own clock's, and a missing connection fails the run at once with the reason."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.partners.activities import PartnerSettlementActivities
from activities.partners.io import SettlementRunInput, StatementMade
from domain import partners
from domain.ids import new_id
from models.base import unit_of_work
from models.billing import LedgerEntry
from models.partner_settlements import PartnerSettlement
from models.partners import PartnerCharge, PartnerConnection
from runtime.settings import Settings
from runtime.worker import ACTIVITY_THREADS, build_worker
from tests.support.factories import make_operator
from tests.support.partner_factory import make_connection
from workflows.partner_settlement import PartnerSettlementWorkflow

# What the schedule's run on the 2nd of April 2026 at 03:00 UTC sees: in Madrid it is April, so March.
APRIL_RUN = datetime(2026, 4, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
async def queue(time_skipping_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Settings]:
    queue = settings.model_copy(update={"task_queue": f"pset-{uuid.uuid4().hex[:8]}"})
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as pool:
        worker = build_worker(
            time_skipping_env.client,
            queue,
            activity_executor=pool,
            activities=PartnerSettlementActivities(queue).all(),
        )
        async with worker:
            yield queue


def connected_operator(settings: Settings, time_zone: str = "Europe/Madrid", share: str = "12.5") -> str:
    operator = make_operator(settings.database_url or "").organisation_id
    connection_id = make_connection(settings, operator, "netflix", "http://127.0.0.1:9", "op", "secret")
    with unit_of_work(settings.database_url or "") as session:
        row = session.get(PartnerConnection, connection_id)
        assert row is not None
        row.options = {"time_zone": time_zone}
        row.revenue_share_percent = Decimal(share)
    return operator


def accepted(org: str, number: str, amount: int, decided_at: datetime) -> PartnerCharge:
    return PartnerCharge(
        id=new_id("pch"),
        organisation_id=org,
        provider="netflix",
        charge_number=number,
        partner_customer_id="acc_x",
        partner_plan="STANDARD",
        amount_minor=amount,
        currency="USD",
        local_amount_minor=amount,
        local_currency="EUR",
        paid_through=date(2026, 3, 31),
        received_at=decided_at,
        status="accepted",
        decided_at=decided_at,
    )


async def settle(env: WorkflowEnvironment, queue: Settings, request: SettlementRunInput) -> StatementMade:
    return await env.client.execute_workflow(
        PartnerSettlementWorkflow.run,
        request,
        id=f"partner-settlement-test-{uuid.uuid4().hex[:8]}",
        task_queue=queue.task_queue,
    )


def settled_state(database_url: str, org: str) -> tuple[int, int, dict[str, str | None]]:
    """(statements, ledger entries, settlement id by charge number) of the operator."""
    with unit_of_work(database_url) as session:
        statements = session.execute(
            select(func.count())
            .select_from(PartnerSettlement)
            .where(PartnerSettlement.organisation_id == org)
        ).scalar_one()
        entries = session.execute(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.organisation_id == org)
        ).scalar_one()
        charges = session.execute(
            select(PartnerCharge.charge_number, PartnerCharge.settlement_id).where(
                PartnerCharge.organisation_id == org
            )
        ).all()
        return statements, entries, {number: sid for number, sid in charges}


async def test_the_scheduled_run_settles_last_month_exactly_once_when_run_twice(
    time_skipping_env: WorkflowEnvironment, queue: Settings, settings: Settings
) -> None:
    db = settings.database_url or ""
    org = connected_operator(settings)
    with unit_of_work(db) as session:
        session.add_all(
            [
                accepted(org, "NFX1", 1549, datetime(2026, 2, 28, 23, 30, tzinfo=UTC)),  # 1 March in Madrid
                accepted(org, "NFX2", 2299, datetime(2026, 3, 31, 21, 59, tzinfo=UTC)),  # 23:59 in Madrid
                accepted(org, "NFX3", 799, datetime(2026, 3, 31, 22, 30, tzinfo=UTC)),  # 1 April in Madrid
                accepted(org, "NFX0", 999, datetime(2026, 2, 28, 22, 30, tzinfo=UTC)),  # February in Madrid
            ]
        )
    request = SettlementRunInput(organisation_id=org, provider="netflix", at=APRIL_RUN)

    first = await settle(time_skipping_env, queue, request)
    again = await settle(time_skipping_env, queue, request)

    # 1549 + 2299 = 3848; 12.5% = 481 for the operator, 3367 payable to Netflix
    assert (first.month, first.created, first.charge_count, first.charged_minor) == ("2026-03", True, 2, 3848)
    assert (first.partner_payable_minor, first.currency) == (3367, "USD")
    assert again.created is False
    assert again.model_dump(exclude={"created"}) == first.model_dump(exclude={"created"})
    statements, entries, by_charge = settled_state(db, org)
    assert (statements, entries) == (1, 1)
    assert by_charge == {"NFX0": None, "NFX1": first.settlement_id, "NFX2": first.settlement_id, "NFX3": None}

    # the next month's run takes what April left, never March's charges again
    may = await settle(
        time_skipping_env,
        queue,
        SettlementRunInput(organisation_id=org, provider="netflix", at=datetime(2026, 5, 2, 3, tzinfo=UTC)),
    )
    assert (may.month, may.created, may.charge_count, may.charged_minor) == ("2026-04", True, 1, 799)
    assert settled_state(db, org)[2]["NFX3"] == may.settlement_id


async def test_a_named_month_and_the_run_clock_pick_the_month(
    time_skipping_env: WorkflowEnvironment, queue: Settings, settings: Settings
) -> None:
    org = connected_operator(settings, time_zone="America/New_York")
    named = await settle(
        time_skipping_env,
        queue,
        SettlementRunInput(organisation_id=org, provider="netflix", month="2026-01", at=APRIL_RUN),
    )
    assert (named.month, named.created, named.charge_count, named.charged_minor) == ("2026-01", True, 0, 0)

    handle = await time_skipping_env.client.start_workflow(
        PartnerSettlementWorkflow.run,
        SettlementRunInput(organisation_id=org, provider="netflix"),
        id=f"partner-settlement-test-{uuid.uuid4().hex[:8]}",
        task_queue=queue.task_queue,
    )
    made = await handle.result()
    started = (await handle.describe()).start_time
    assert made.month == f"{partners.previous_month(started, 'America/New_York'):%Y-%m}"
    assert made.created is True


async def test_a_run_without_a_connection_fails_at_once_with_the_reason(
    time_skipping_env: WorkflowEnvironment, queue: Settings, settings: Settings
) -> None:
    org = make_operator(settings.database_url or "").organisation_id
    with pytest.raises(WorkflowFailureError) as failed:
        await settle(
            time_skipping_env,
            queue,
            SettlementRunInput(organisation_id=org, provider="netflix", at=APRIL_RUN),
        )
    cause = failed.value.cause
    assert isinstance(cause, ActivityError) and isinstance(cause.cause, ApplicationError)
    assert cause.cause.details[0]["code"] == "partner_not_connected"
    assert "POST /v1/partner-connections" in cause.cause.message
    bad = SettlementRunInput(organisation_id=org, provider="netflix", month="2026-13", at=APRIL_RUN)
    with pytest.raises(WorkflowFailureError) as refused:
        await settle(time_skipping_env, queue, bad)
    assert "is not YYYY-MM" in str(refused.value.cause.cause)  # type: ignore[union-attr]
    assert settled_state(settings.database_url or "", org)[:2] == (0, 0)
