"""EventRetention on the time-skipping server: events past ``RETENTION_DAYS`` are deleted, newer ones kept."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.events.activities import RetentionActivities
from activities.events.retention import first_id_at, prune_batch
from domain.ids import new_id
from models.base import engine_for, unit_of_work
from runtime.settings import Settings
from tests.support.factories import make_operator
from workflows.event_retention import EventRetentionWorkflow


def old_events(database_url: str, organisation_id: str, ages_in_days: list[int]) -> list[str]:
    """One ``account.created`` event recorded ``age`` days ago per age; their ids."""
    now = datetime.now(UTC)
    ids = []
    with engine_for(database_url).begin() as conn:
        for age in ages_in_days:
            at = now - timedelta(days=age)
            event_id = new_id("evt", now_ms=int(at.timestamp() * 1000))
            conn.execute(
                sa.text(
                    "insert into business_events (id, type, organisation_id, object_type, object_id, data, "
                    "api_version, occurred_at) values (:i, 'account.created', :o, 'account', :i, '{}', "
                    "'2026-11-30', :at)"
                ),
                {"i": event_id, "o": organisation_id, "at": at},
            )
            ids.append(event_id)
    return ids


def remaining(database_url: str, ids: list[str]) -> list[str]:
    with engine_for(database_url).connect() as conn:
        rows = conn.execute(sa.text("select id from business_events where id = any(:ids)"), {"ids": ids})
        return sorted(rows.scalars())


async def test_events_past_retention_are_pruned(
    own_time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    """On a private server: the shared one's clock has been skipped ahead by earlier tests, and the
    cut-off is taken from the workflow's clock."""
    env = own_time_skipping_env
    url = settings.database_url or ""
    operator = make_operator(url)
    ids = old_events(url, operator.organisation_id, [200, 95, 91, 89, 1])
    queue = f"retention-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(2) as pool:
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[EventRetentionWorkflow],
            activities=RetentionActivities(settings).all(),
            activity_executor=pool,
        ):
            # Real time while the activity deletes: with time skipping on, a long delete (the suite's
            # database holds many events) outran its heartbeat timeout in skipped time, again and again.
            with env.auto_time_skipping_disabled():
                result = await env.client.execute_workflow(
                    EventRetentionWorkflow.run, id=f"events-retention-{queue}", task_queue=queue
                )
    assert result.deleted >= 3
    assert remaining(url, ids) == sorted(ids[3:])


def test_a_batch_deletes_the_oldest_first_and_ids_bound_the_cut_off(settings: Settings) -> None:
    url = settings.database_url or ""
    operator = make_operator(url)
    ids = old_events(url, operator.organisation_id, [400, 399, 398])
    cut_off = datetime.now(UTC) - timedelta(days=398, hours=12)
    assert ids[1] < first_id_at(cut_off) < ids[2]
    with unit_of_work(url) as session:
        assert prune_batch(session, cut_off, 1) == 1
    assert remaining(url, ids) == sorted(ids[1:])
    with unit_of_work(url) as session:
        assert prune_batch(session, cut_off, 10) == 1
    assert remaining(url, ids) == [ids[2]]
