"""TicketEscalation on the time-skipping server, with the real care activities on PostgreSQL: a breach with
two escalation levels, a pause (waiting on the customer) across a weekend and a holiday, and a reopen that
re-arms the clocks. Times are aligned to a weekday from the server's clock, so no test depends on today."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment

from activities.care import tickets as store
from activities.care.activities import CareActivities
from activities.care.io import EscalationInput
from domain import process_ids
from models.base import unit_of_work
from runtime.settings import Settings
from runtime.worker import build_worker
from tests.support.care_support import (
    OFFICE_HOURS,
    Care,
    events_of,
    history_of,
    load_ticket,
    make_care,
    raise_ticket,
)
from workflows.common import ACCOUNT_ID, PROCESS, TICKET_ID
from workflows.ticket_escalation import EscalationStatus, TicketEscalationWorkflow

MADRID = ZoneInfo("Europe/Madrid")
SLACK = timedelta(seconds=5)  # activities between timers take a little real time
ESCALATING = {
    "warn_percent": 80,
    "levels": [
        {"at_percent": 100, "priority": "urgent", "next_queue": True, "notify_supervisor": True},
        {"at_percent": 150, "notify_supervisor": True},
    ],
}


def worker(env: WorkflowEnvironment, settings: Settings) -> tuple[Any, Settings]:
    queue = settings.model_copy(update={"task_queue": f"care-ts-{uuid.uuid4().hex[:8]}"})
    return build_worker(env.client, queue, activities=CareActivities(settings).all()), queue


async def start(
    env: WorkflowEnvironment, queue: Settings, care: Care, ticket_id: str
) -> WorkflowHandle[Any, Any]:
    return await env.client.start_workflow(
        TicketEscalationWorkflow.run,
        EscalationInput(
            ticket_id=ticket_id, account_id=care.account_id, organisation_id=care.tenant.organisation_id
        ),
        id=process_ids.ticket_escalation(ticket_id),
        task_queue=queue.task_queue,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(PROCESS, "TicketEscalation"),
                SearchAttributePair(TICKET_ID, ticket_id),
                SearchAttributePair(ACCOUNT_ID, care.account_id),
            ]
        ),
    )


async def move(
    database_url: str, care: Care, handle: WorkflowHandle[Any, Any], ticket_id: str, to: str
) -> None:
    with unit_of_work(database_url) as session:
        store.transition(session, care.principal, ticket_id, to)
    await handle.signal(TicketEscalationWorkflow.ticket_changed)


def reached(database_url: str, ticket_id: str) -> dict[str, datetime]:
    """The milestones reached (``arm:target:kind:level``) and the workflow time of each."""
    return {
        line.data["key"]: datetime.fromisoformat(line.data["at"])
        for line in history_of(database_url, ticket_id, "sla")
    }


def near(actual: datetime, expected: datetime) -> bool:
    return expected <= actual <= expected + SLACK


async def test_a_breach_escalates_twice_and_notifies_the_supervisors(
    time_skipping_env: WorkflowEnvironment, settings: Settings, database_url: str
) -> None:
    env = time_skipping_env
    care = make_care(database_url, first_response=60, resolution=240, policy=ESCALATING)
    ticket = raise_ticket(database_url, care)
    run, queue = worker(env, settings)
    async with run:
        began = await env.get_current_time()
        handle = await start(env, queue, care, ticket.id)
        await env.sleep(timedelta(hours=7))
        described = await handle.describe()
        times = reached(database_url, ticket.id)
        await move(database_url, care, handle, ticket.id, "resolved")
        await move(database_url, care, handle, ticket.id, "closed")
        result: EscalationStatus = await handle.result()
    assert described.typed_search_attributes.get(TICKET_ID) == ticket.id
    assert described.typed_search_attributes.get(ACCOUNT_ID) == care.account_id
    expected = {
        "0:first_response:warning:0": 48,
        "0:first_response:breach:0": 60,
        "0:resolution:warning:0": 192,
        "0:resolution:breach:0": 240,
        "0:resolution:escalation:1": 240,
        "0:resolution:escalation:2": 360,
    }
    assert set(times) == set(expected)
    for key, minutes in expected.items():
        assert near(times[key], began + timedelta(minutes=minutes)), (key, times[key] - began)
    done = load_ticket(database_url, ticket.id)
    assert (done.priority, done.queue_id, done.escalation_level, done.status) == (
        "urgent",
        care.next_queue_id,
        2,
        "closed",
    )
    escalated = [e.data for e in events_of(database_url, ticket.id) if e.type == "ticket.escalated"]
    assert [(e["level"], e["supervisor"], e["from_queue_id"]) for e in escalated] == [
        (1, "lead@example.com", care.queue_id),
        (2, "head.of.care@example.com", care.next_queue_id),
    ]
    types = [e.type for e in events_of(database_url, ticket.id)]
    assert types.count("ticket.sla_warning") == 2 and types.count("ticket.breached") == 2
    assert result.ticket_status == "closed" and result.step == "closed"


def next_friday(now: datetime, zone: ZoneInfo) -> datetime:
    """16:00 local on the first Friday at least a day after ``now``."""
    day = (now + timedelta(days=1)).astimezone(zone).date()
    while day.weekday() != 4:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 16, tzinfo=zone)


async def test_waiting_on_the_customer_pauses_the_clock_across_a_weekend_and_a_holiday(
    time_skipping_env: WorkflowEnvironment, settings: Settings, database_url: str
) -> None:
    env = time_skipping_env
    friday = next_friday(await env.get_current_time(), MADRID)
    monday = friday.date() + timedelta(days=3)
    tuesday = friday + timedelta(days=4)
    care = make_care(
        database_url,
        timezone="Europe/Madrid",
        hours=OFFICE_HOURS,
        holidays=[monday],
        first_response=60,
        resolution=240,
    )
    run, queue = worker(env, settings)
    async with run:
        await env.sleep(friday - await env.get_current_time())
        ticket = raise_ticket(database_url, care)
        handle = await start(env, queue, care, ticket.id)
        await env.sleep(timedelta(minutes=30))  # Friday 16:30: 30 business minutes used
        await move(database_url, care, handle, ticket.id, "open")  # the first response
        await move(database_url, care, handle, ticket.id, "waiting_on_customer")
        await env.sleep(timedelta(minutes=1))
        paused: EscalationStatus = await handle.query(TicketEscalationWorkflow.status)
        saturday = friday + timedelta(hours=18)  # Saturday 10:00: the customer answers
        await env.sleep(saturday - await env.get_current_time())
        with unit_of_work(database_url) as session:
            store.comment(
                session, care.principal, ticket.id, "Still no signal", public=True, from_customer=True
            )
        await handle.signal(TicketEscalationWorkflow.ticket_changed)
        await env.sleep(tuesday.replace(hour=14) - await env.get_current_time())
        times = reached(database_url, ticket.id)
        await move(database_url, care, handle, ticket.id, "resolved")
        await move(database_url, care, handle, ticket.id, "closed")
        await handle.result()
    assert paused.step == "paused: waiting_on_customer"
    assert abs(paused.elapsed_seconds - 30 * 60) <= 5
    # 210 business minutes were left: Monday is a holiday, so Tuesday from 09:00: warning at 192 minutes
    # (11:42), breach at 240 (12:30). Without the pause they would fall 30 minutes earlier.
    assert set(times) == {"0:resolution:warning:0", "0:resolution:breach:0"}
    assert near(times["0:resolution:warning:0"], tuesday.replace(hour=11, minute=42))
    assert near(times["0:resolution:breach:0"], tuesday.replace(hour=12, minute=30))
    assert (
        times["0:resolution:breach:0"].astimezone(UTC).hour == tuesday.replace(hour=12).astimezone(UTC).hour
    )


async def test_a_reopened_ticket_re_arms_its_clock(
    time_skipping_env: WorkflowEnvironment, settings: Settings, database_url: str
) -> None:
    env = time_skipping_env
    care = make_care(database_url, first_response=60, resolution=120)
    ticket = raise_ticket(database_url, care)
    run, queue = worker(env, settings)
    async with run:
        handle = await start(env, queue, care, ticket.id)
        await env.sleep(timedelta(minutes=10))
        await move(database_url, care, handle, ticket.id, "open")
        await env.sleep(timedelta(minutes=50))
        await move(database_url, care, handle, ticket.id, "resolved")  # 60 of 120 minutes used
        await env.sleep(timedelta(hours=10))
        reopened_at = await env.get_current_time()
        await move(database_url, care, handle, ticket.id, "open")
        await env.sleep(timedelta(hours=3))
        times = reached(database_url, ticket.id)
        await move(database_url, care, handle, ticket.id, "resolved")
        await move(database_url, care, handle, ticket.id, "closed")
        result: EscalationStatus = await handle.result()
    # Re-armed from zero: warning 96 and breach 120 minutes after the reopen (not 36 and 60).
    assert set(times) == {"1:resolution:warning:0", "1:resolution:breach:0"}
    assert near(times["1:resolution:warning:0"], reopened_at + timedelta(minutes=96))
    assert near(times["1:resolution:breach:0"], reopened_at + timedelta(minutes=120))
    assert result.arm == 1 and load_ticket(database_url, ticket.id).reopens == 1
