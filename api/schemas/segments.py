"""Segments on the wire: a segment, its rule (JSON data, see domain/segments.py), previews, members."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import Strict

RULES_DOC = (
    'The rule tree (JSON data, never code): {"all": [...]}, {"any": [...]}, {"not": {...}}, or a '
    'predicate such as {"field": "country", "in": ["DE"]} or {"field": "usage", "metric": '
    '"data_mb", "op": "gt", "value": 1000, "period": {"last_months": 3}}; see docs/segments.md'
)


class SegmentCreate(Strict):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    rules: dict[str, Any] = Field(description=RULES_DOC)


class SegmentUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    rules: dict[str, Any] | None = Field(default=None, description=RULES_DOC)


class SegmentOut(BaseModel):
    object: Literal["segment"] = "segment"
    id: str
    organisation_id: str
    code: str
    name: str
    description: str | None
    rules: dict[str, Any]
    member_count: int
    refreshed_at: datetime | None
    created_at: datetime


class PreviewRequest(Strict):
    rules: dict[str, Any] = Field(description=RULES_DOC)
    as_of: date | None = Field(default=None, description="Read the rule's periods at this day; default today")


class PreviewOut(BaseModel):
    object: Literal["segment_preview"] = "segment_preview"
    as_of: date
    count: int
    sample: list[str] = Field(description="Up to 20 account ids, smallest first")


class MemberOut(BaseModel):
    object: Literal["segment_member"] = "segment_member"
    account_id: str
    joined_at: datetime


class ChangeOut(BaseModel):
    object: Literal["segment_change"] = "segment_change"
    account_id: str
    change: Literal["joined", "left"]
    at: datetime
    refresh_id: str


class RefreshStarted(BaseModel):
    object: Literal["process_started"] = "process_started"
    process: Literal["SegmentRefresh"] = "SegmentRefresh"
    process_id: str
    segment_id: str
