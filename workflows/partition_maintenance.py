"""PartitionMaintenance: keep the monthly partitions ready and apply the raw-usage retention, once a day.

Started by the Temporal Schedule ``partition-maintenance`` (runtime/schedules.py); one heartbeating
activity creates the coming months' partitions of usage events, invoice lines and ledger postings
(``MULTIBILL_PARTITIONS_AHEAD_MONTHS``), drops raw usage months past ``MULTIBILL_USAGE_RETENTION_MONTHS``
when set, prunes usage-event keys too old to matter and the stored responses of Idempotency-Keys past
``MULTIBILL_IDEMPOTENCY_RETENTION_DAYS`` and credentials long expired. Every step is idempotent.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.maintenance.io import MaintainPartitions, PartitionActivities, PartitionsMaintained
    from workflows.common import DB_RETRY


@workflow.defn(name="PartitionMaintenance")
class PartitionMaintenanceWorkflow:
    """Maintain the partitions from the month of the run's start (the workflow's clock, UTC)."""

    @workflow.run
    async def run(self) -> PartitionsMaintained:
        return await workflow.execute_activity_method(
            PartitionActivities.maintain,
            MaintainPartitions(on=workflow.now().date()),
            start_to_close_timeout=timedelta(hours=1),
            heartbeat_timeout=timedelta(seconds=60),
            retry_policy=DB_RETRY,
        )
