"""EventRetention: delete the business events older than ``RETENTION_DAYS``, once a day.

Started by the Temporal Schedule ``events-retention`` (runtime/schedules.py); one heartbeating activity
deletes the old events in batches, so a worker dying mid-way costs a retry that finds fewer to delete.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.events.io import EventsPruned, PruneEvents, RetentionActivities
    from domain.events import RETENTION_DAYS
    from workflows.common import DB_RETRY, show_details


@workflow.defn(name="EventRetention")
class EventRetentionWorkflow:
    """Prune the events recorded more than ``RETENTION_DAYS`` before the run started."""

    @workflow.run
    async def run(self) -> EventsPruned:
        show_details("Event retention", "pruning events past their retention")
        before = workflow.now() - timedelta(days=RETENTION_DAYS)
        return await workflow.execute_activity_method(
            RetentionActivities.prune,
            PruneEvents(before=before),
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=timedelta(seconds=60),
            retry_policy=DB_RETRY,
        )
