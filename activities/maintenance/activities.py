"""The partition maintenance's Temporal activity (see partitions.py)."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from activities.maintenance import io
from activities.maintenance.io import MaintainPartitions, PartitionsMaintained
from activities.maintenance.partitions import drop_old_usage, ensure_months, keys_cutoff, prune_keys_batch
from activities.shared.heartbeat import heartbeating
from models.base import unit_of_work
from runtime.settings import Settings


class PartitionActivities(io.PartitionActivities):
    """Partition maintenance with the worker's database and settings."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.database_url or ""
        self.ahead = settings.partitions_ahead_months
        self.retention = settings.usage_retention_months

    @activity.defn(name="maintain_partitions")
    def maintain(self, request: MaintainPartitions) -> PartitionsMaintained:
        """Each step is its own transaction and idempotent: a retry redoes only what is left."""
        done = PartitionsMaintained()
        with heartbeating():
            with unit_of_work(self.url) as session:
                done.created = ensure_months(session, request.on, self.ahead)
            if self.retention is not None:
                with unit_of_work(self.url) as session:
                    done.dropped, done.kept = drop_old_usage(session, request.on, self.retention)
            before = keys_cutoff(request.on)
            while True:
                with unit_of_work(self.url) as session:
                    count = prune_keys_batch(session, before, request.batch_size)
                done.keys_pruned += count
                if count < request.batch_size:
                    return done

    def all(self) -> list[Any]:
        return [self.maintain]
