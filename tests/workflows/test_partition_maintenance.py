"""PartitionMaintenance on a private time-skipping server: the daily run keeps the coming months'
partitions of the three partitioned tables ready and, with the retention off, drops nothing."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.maintenance.activities import PartitionActivities
from activities.maintenance.partitions import partitions_of
from models.base import engine_for, unit_of_work
from models.partitions import PARTITIONED, add_months, partition_name
from runtime.settings import Settings
from workflows.partition_maintenance import PartitionMaintenanceWorkflow


async def test_the_daily_run_keeps_the_coming_months_ready(
    own_time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    env = own_time_skipping_env
    url = settings.database_url or ""
    queue = f"partitions-{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(2) as pool:
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[PartitionMaintenanceWorkflow],
            activities=PartitionActivities(settings).all(),
            activity_executor=pool,
        ):
            with env.auto_time_skipping_disabled():
                result = await env.client.execute_workflow(
                    PartitionMaintenanceWorkflow.run, id=f"partition-maintenance-{queue}", task_queue=queue
                )
    assert (result.dropped, result.kept) == ([], [])
    with engine_for(url).connect() as conn:
        this_month = conn.execute(
            sa.text("SELECT date_trunc('month', now() AT TIME ZONE 'UTC')::date")
        ).scalar_one()
    with unit_of_work(url) as session:
        for table in PARTITIONED:
            names = partitions_of(session, table)
            wanted = {partition_name(table, add_months(this_month, n)) for n in range(4)}
            assert wanted <= set(names), table
            assert {n for n in result.created if n.startswith(table + "_p")} <= set(names)
