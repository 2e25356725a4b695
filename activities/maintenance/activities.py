"""The partition maintenance's Temporal activity (see partitions.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from temporalio import activity

from activities.maintenance import io
from activities.maintenance.io import MaintainPartitions, PartitionsMaintained
from activities.maintenance.partitions import drop_old_usage, ensure_months, keys_cutoff, prune_keys_batch
from activities.maintenance.retention import expired_cutoff, idempotency_cutoff, prune_batch, throttle_cutoff
from activities.shared.heartbeat import heartbeating
from models.base import unit_of_work
from runtime.settings import Settings


class PartitionActivities(io.PartitionActivities):
    """Partition maintenance with the worker's database and settings."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.database_url or ""
        self.ahead = settings.partitions_ahead_months
        self.retention = settings.usage_retention_months
        self.idempotency_days = settings.idempotency_retention_days

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
            done.keys_pruned = self._in_batches(prune_keys_batch, keys_cutoff(request.on), request.batch_size)
            done.idempotency_keys_pruned = self._in_batches(
                partial(prune_batch, table="idempotency_keys"),
                idempotency_cutoff(request.on, self.idempotency_days),
                request.batch_size,
            )
            for table in ("subscriber_login_links", "oauth_codes", "oauth_tokens"):
                done.credentials_pruned += self._in_batches(
                    partial(prune_batch, table=table), expired_cutoff(request.on), request.batch_size
                )
            done.throttles_pruned = self._in_batches(
                partial(prune_batch, table="subscriber_login_throttles"),
                throttle_cutoff(request.on),
                request.batch_size,
            )
        return done

    def _in_batches(self, prune: Callable[..., int], before: datetime, batch_size: int) -> int:
        """Run ``prune`` one transaction at a time until a batch comes back short; how many in all."""
        pruned = 0
        while True:
            with unit_of_work(self.url) as session:
                count = prune(session, before=before, batch_size=batch_size)
            pruned += count
            if count < batch_size:
                return pruned

    def all(self) -> list[Any]:
        return [self.maintain]
