"""Segment refreshes' Temporal activities: each one transaction (sync: thread pool)."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from activities.segments import io, records, refresh
from activities.segments.io import RefreshInput, RefreshResult, SegmentPage, SegmentPageInput
from models.base import unit_of_work
from runtime.settings import Settings


class SegmentActivities(io.SegmentActivities):
    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: segment activities need the database")
        self.url = settings.database_url

    @activity.defn(name="segment_page")
    def segment_page(self, request: SegmentPageInput) -> SegmentPage:
        with unit_of_work(self.url) as session:
            ids = records.segment_ids_page(session, request.organisation_id, request.after, request.limit)
        return SegmentPage(segment_ids=ids)

    @activity.defn(name="refresh_segment")
    def refresh_segment(self, request: RefreshInput) -> RefreshResult:
        try:
            with unit_of_work(self.url) as session:
                done = refresh.refresh_segment(session, request.segment_id, request.refresh_id, request.as_of)
        except refresh.SegmentGone:
            return RefreshResult(segment_id=request.segment_id, refresh_id=request.refresh_id, gone=True)
        return RefreshResult(
            segment_id=done.segment_id,
            refresh_id=done.refresh_id,
            joined=done.joined,
            left=done.left,
            member_count=done.member_count,
            repeated=done.repeated,
        )

    def all(self) -> list[Any]:
        return [self.segment_page, self.refresh_segment]
