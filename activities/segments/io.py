"""Segment refreshes' activities as workflows call them, and their inputs and outputs (no SQLAlchemy here)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field
from temporalio import activity


class RefreshRunInput(BaseModel):
    """A SegmentRefresh run: every segment of the operator, or only ``segment_ids`` (on demand)."""

    organisation_id: str
    segment_ids: list[str] | None = None
    page_size: int = Field(default=50, ge=1, le=1000)


class SegmentPageInput(BaseModel):
    organisation_id: str
    after: str | None = None
    limit: int = 50


class SegmentPage(BaseModel):
    segment_ids: list[str]


class RefreshInput(BaseModel):
    """Refresh one segment at ``as_of``; ``refresh_id`` names the refresh (a retry repeats nothing)."""

    segment_id: str
    refresh_id: str
    as_of: date


class RefreshResult(BaseModel):
    segment_id: str
    refresh_id: str
    joined: int = 0
    left: int = 0
    member_count: int = 0
    gone: bool = False
    repeated: bool = False


class RefreshRunResult(BaseModel):
    """What a run did: segments refreshed (gone ones skipped), joiners and leavers in all."""

    refreshed: int = 0
    skipped: int = 0
    joined: int = 0
    left: int = 0


class SegmentActivities:
    """Interface of activities/segments/activities.py."""

    @activity.defn(name="segment_page")
    def segment_page(self, request: SegmentPageInput) -> SegmentPage:
        """Ids of the operator's segments after ``after``."""
        raise NotImplementedError

    @activity.defn(name="refresh_segment")
    def refresh_segment(self, request: RefreshInput) -> RefreshResult:
        """Recompute one segment's members and record who joined and who left."""
        raise NotImplementedError
