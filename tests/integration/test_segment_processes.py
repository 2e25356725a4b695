"""SegmentRefresh started the two real ways, on the dev Temporal server with the full worker: by
``POST /v1/segments/{id}/refresh`` (202 with the process id; a repeated request joins it), and by the
operator's daily Temporal Schedule (triggered by hand here)."""

from __future__ import annotations

from temporalio.client import ScheduleActionStartWorkflow

from activities.segments.io import RefreshRunResult
from runtime.schedules import SEGMENTS_HOUR_UTC, ensure_segment_schedule
from runtime.settings import Settings
from tests.support.eventually import eventually_async
from tests.support.factories import make_operator
from tests.support.segment_data import Crafted, members
from tests.support.subscription_support import Stack

FRENCH = {"field": "language", "in": ["fr"]}


async def test_the_api_starts_a_refresh_of_one_segment(stack: Stack, settings: Settings) -> None:
    url = settings.database_url or ""
    operator = make_operator(url)
    data = Crafted(url, operator.organisation_id)
    french = {data.account(language="fr") for _ in range(3)}
    made = await stack.api.post(
        "/v1/segments",
        json={"code": "fr", "name": "French", "rules": FRENCH},
        headers=operator.post_headers(),
    )
    segment_id = made.json()["id"]
    headers = operator.post_headers("refresh-1")
    started = await stack.api.post(f"/v1/segments/{segment_id}/refresh", headers=headers)
    assert started.status_code == 202, started.text
    process_id = started.json()["process_id"]
    assert started.json()["segment_id"] == segment_id and process_id.startswith("segment-refresh-")
    result = await stack.client.get_workflow_handle(process_id, result_type=RefreshRunResult).result()
    assert result == RefreshRunResult(refreshed=1, joined=3)
    again = await stack.api.post(f"/v1/segments/{segment_id}/refresh", headers=headers)
    assert again.status_code == 202 and again.json()["process_id"] == process_id
    assert members(url, segment_id) == french
    got = await stack.api.get(f"/v1/segments/{segment_id}", headers=operator.auth)
    assert got.json()["member_count"] == 3


async def test_the_daily_schedule_refreshes_every_segment(stack: Stack, settings: Settings) -> None:
    url = settings.database_url or ""
    data = Crafted(url, make_operator(url).organisation_id)
    french = {data.account(language="fr") for _ in range(2)}
    segment_id = data.segment(FRENCH)
    queue_settings = settings.model_copy(update={"task_queue": stack.task_queue})
    sid = await ensure_segment_schedule(stack.client, queue_settings, data.organisation_id)
    assert sid == await ensure_segment_schedule(stack.client, queue_settings, data.organisation_id)
    handle = stack.client.get_schedule_handle(sid)
    try:
        described = await handle.describe()
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "SegmentRefresh"
        assert [c.hour[0].start for c in described.schedule.spec.calendars] == [SEGMENTS_HOUR_UTC]
        await handle.trigger()
        ran = await eventually_async(
            lambda: handle.describe(),
            until=lambda d: bool(d.info.recent_actions),
            timeout=15,
            what="the segment schedule's first run",
        )
        started = ran.info.recent_actions[0].action
        result = await stack.client.get_workflow_handle(
            started.workflow_id, run_id=started.first_execution_run_id, result_type=RefreshRunResult
        ).result()
        assert result == RefreshRunResult(refreshed=1, joined=2)
        assert members(url, segment_id) == french
    finally:
        await handle.delete()
