"""The partition maintenance process's input, output and activity interface (what workflows import)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field
from temporalio import activity


class MaintainPartitions(BaseModel):
    """Keep the monthly partitions ready from ``on``'s month on, apply the raw-usage retention, and prune
    the usage-event keys no event can collide with any more, the Idempotency-Keys past their retention and
    the credentials long expired (``batch_size`` per transaction)."""

    on: date
    batch_size: int = Field(default=5000, ge=1, le=100_000)


class PartitionsMaintained(BaseModel):
    """What a maintenance run did: partitions created and dropped, old usage months kept because some of
    their events still wait for rating (accepted or in suspense), usage-event keys, Idempotency-Keys and
    expired credentials pruned, and login throttles no attempt touched for two days."""

    created: list[str] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list)
    kept: list[str] = Field(default_factory=list)
    keys_pruned: int = 0
    idempotency_keys_pruned: int = 0
    credentials_pruned: int = 0  # one-time links, authorization codes, app tokens long expired
    throttles_pruned: int = 0  # login-throttle counters of e-mails and addresses quiet for two days


class PartitionActivities:
    """The maintenance activities as workflows call them (implemented in maintenance/activities.py)."""

    @activity.defn(name="maintain_partitions")
    def maintain(self, request: MaintainPartitions) -> PartitionsMaintained:
        """Create the coming months' partitions, drop raw usage past its retention, prune old keys (usage
        events' and requests' Idempotency-Keys), expired credentials and quiet login throttles."""
        raise NotImplementedError


__all__ = ["MaintainPartitions", "PartitionActivities", "PartitionsMaintained"]
