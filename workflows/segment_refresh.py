"""SegmentRefresh: recompute an operator's segments, a page of segment ids at a time, one activity (one
transaction) per segment.

Started by the operator's Temporal Schedule ``segments-<operator>`` (runtime/schedules.py) for every segment,
or by ``POST /v1/segments/{id}/refresh`` for one. Each refresh is named ``<workflow id>:<segment id>``, so a
retried activity (or a replayed history) records nothing twice; the rules' periods are read at the run's
day (the workflow's clock, UTC).
"""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.segments.io import (
        RefreshInput,
        RefreshResult,
        RefreshRunInput,
        RefreshRunResult,
        SegmentActivities,
        SegmentPageInput,
    )
    from workflows.common import DB_RETRY, ShowsStep


@workflow.defn(name="SegmentRefresh")
class SegmentRefreshWorkflow(ShowsStep):
    """Refresh the operator's segments (or the ones named), in pages."""

    def __init__(self) -> None:
        self._result = RefreshRunResult()

    @workflow.run
    async def run(self, request: RefreshRunInput) -> RefreshRunResult:
        self._describe(f"Segments of {request.organisation_id}")
        as_of = workflow.now().date()
        if request.segment_ids is not None:
            await self._refresh_all(request.segment_ids, as_of)
            self._step = f"done: {self._result.refreshed} refreshed"
            return self._result
        after: str | None = None
        while True:
            self._step = f"listing segments after {after or 'the start'}"
            page = await workflow.execute_activity_method(
                SegmentActivities.segment_page,
                SegmentPageInput(
                    organisation_id=request.organisation_id, after=after, limit=request.page_size
                ),
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=DB_RETRY,
            )
            await self._refresh_all(page.segment_ids, as_of)
            if len(page.segment_ids) < request.page_size:
                break
            after = page.segment_ids[-1]
        self._step = f"done: {self._result.refreshed} refreshed"
        return self._result

    async def _refresh_all(self, segment_ids: list[str], as_of: date) -> None:
        for segment_id in segment_ids:
            self._step = f"refreshing {segment_id}"
            done: RefreshResult = await workflow.execute_activity_method(
                SegmentActivities.refresh_segment,
                RefreshInput(
                    segment_id=segment_id,
                    refresh_id=f"{workflow.info().workflow_id}:{segment_id}",
                    as_of=as_of,
                ),
                start_to_close_timeout=timedelta(minutes=10),
                retry_policy=DB_RETRY,
            )
            if done.gone:
                self._result.skipped += 1
                continue
            self._result.refreshed += 1
            self._result.joined += done.joined
            self._result.left += done.left

    @workflow.query
    def status(self) -> RefreshRunResult:
        return self._result
