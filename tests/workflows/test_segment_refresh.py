"""SegmentRefresh on the time-skipping server: an operator's segments refreshed a page at a time (what the
daily schedule starts), one segment on demand (what the API starts), a deleted segment skipped, and a
second run on unchanged data writing no change."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.segments.activities import SegmentActivities
from activities.segments.io import RefreshRunInput, RefreshRunResult
from domain import process_ids
from models.base import unit_of_work
from models.segments import Segment
from runtime.schedules import SEGMENTS_HOUR_UTC, segment_schedule
from runtime.settings import Settings
from tests.support.factories import make_operator
from tests.support.segment_data import Crafted, members
from workflows.segment_refresh import SegmentRefreshWorkflow


async def run(
    env: WorkflowEnvironment, settings: Settings, request: RefreshRunInput, name: str
) -> RefreshRunResult:
    queue = f"segments-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(2) as pool:
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[SegmentRefreshWorkflow],
            activities=SegmentActivities(settings).all(),
            activity_executor=pool,
        ):
            return await env.client.execute_workflow(
                SegmentRefreshWorkflow.run, request, id=f"{name}-{queue}", task_queue=queue
            )


async def test_every_segment_of_the_operator_is_refreshed_in_pages(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    url = settings.database_url or ""
    data = Crafted(url, make_operator(url).organisation_id)
    fr = {data.account(language="fr") for _ in range(3)}
    es = {data.account(language="es") for _ in range(2)}
    companies = {data.account(type="company", language="es")}
    segments = [
        data.segment({"field": "language", "in": ["fr"]}),
        data.segment({"field": "language", "in": ["es"]}),
        data.segment({"field": "account_type", "in": ["company"]}),
    ]
    request = RefreshRunInput(organisation_id=data.organisation_id, page_size=2)
    done = await run(time_skipping_env, settings, request, "segments-scheduled")
    assert done == RefreshRunResult(refreshed=3, skipped=0, joined=3 + 3 + 1, left=0)
    assert [members(url, s) for s in segments] == [fr, es | companies, companies]

    again = await run(time_skipping_env, settings, request, "segments-scheduled")
    assert again == RefreshRunResult(refreshed=3, skipped=0, joined=0, left=0)


async def test_one_segment_on_demand_and_a_deleted_one_skipped(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    url = settings.database_url or ""
    data = Crafted(url, make_operator(url).organisation_id)
    fr = {data.account(language="fr") for _ in range(2)}
    wanted = data.segment({"field": "language", "in": ["fr"]})
    other = data.segment({"field": "language", "in": ["de"]})
    gone = data.segment({"field": "language", "in": ["it"]})
    with unit_of_work(url) as session:
        session.delete(session.get(Segment, gone))
    request = RefreshRunInput(organisation_id=data.organisation_id, segment_ids=[wanted, gone])
    done = await run(time_skipping_env, settings, request, "segment-refresh")
    assert done == RefreshRunResult(refreshed=1, skipped=1, joined=2, left=0)
    assert members(url, wanted) == fr and members(url, other) == set()


def test_the_daily_schedule_starts_a_refresh_of_every_segment(settings: Settings) -> None:
    schedule = segment_schedule(settings, "org_X", "/org_X/")
    action = schedule.action
    assert action.id == process_ids.scheduled_segment_refresh("org_X")  # type: ignore[attr-defined]
    assert action.workflow == "SegmentRefresh"  # type: ignore[attr-defined]
    assert action.args == [RefreshRunInput(organisation_id="org_X")]  # type: ignore[attr-defined]
    calendar = schedule.spec.calendars[0]
    assert [r.start for r in calendar.hour] == [SEGMENTS_HOUR_UTC]
