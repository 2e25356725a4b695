"""The events' Temporal activities: pruning events past their retention (see retention.py)."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from activities.events import io
from activities.events.io import EventsPruned, PruneEvents
from activities.events.retention import prune_batch
from activities.shared.heartbeat import heartbeating
from models.base import unit_of_work
from runtime.settings import Settings


class RetentionActivities(io.RetentionActivities):
    """Event retention with the worker's database."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.database_url or ""

    @activity.defn(name="prune_business_events")
    def prune(self, request: PruneEvents) -> EventsPruned:
        """Delete every event recorded before the cut-off, one batch per transaction: a retry (or a
        worker dying half-way) only finds fewer to delete."""
        deleted = 0
        with heartbeating():
            while True:
                with unit_of_work(self.url) as session:
                    count = prune_batch(session, request.before, request.batch_size)
                deleted += count
                if count < request.batch_size:
                    return EventsPruned(before=request.before, deleted=deleted)

    def all(self) -> list[Any]:
        return [self.prune]
