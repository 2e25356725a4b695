"""The event retention process's input, output and activity interface (what workflows import)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from temporalio import activity


class PruneEvents(BaseModel):
    """Delete the business events recorded before ``before``, ``batch_size`` per transaction."""

    before: datetime
    batch_size: int = Field(default=5000, ge=1, le=100_000)


class EventsPruned(BaseModel):
    """How many events a prune deleted, and the cut-off it used."""

    before: datetime
    deleted: int


class RetentionActivities:
    """The retention process's activities as workflows call them (implemented in events/activities.py)."""

    @activity.defn(name="prune_business_events")
    def prune(self, request: PruneEvents) -> EventsPruned:
        """Delete every event older than the cut-off, in batches (heartbeating)."""
        raise NotImplementedError


__all__ = ["EventsPruned", "PruneEvents", "RetentionActivities"]
