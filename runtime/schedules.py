"""A Temporal Schedule per bill cycle and operator, starting the BillingCycle workflow (and one per operator
refreshing its segments: SegmentRefresh).

Cycles 1-28 run on that day of the month; the last-day cycle (31) runs on days 28-31, since a
run bills only what is due by each account's local date, the extra runs find nothing to bill.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from activities.billing.io import RunInput
from activities.loyalty.io import AwardRunInput
from activities.partner_charges.io import AcceptanceInput
from activities.partners.io import SettlementRunInput
from activities.segments.io import RefreshRunInput
from domain import process_ids
from domain.process_ids import ProcessLabels
from runtime.organisation_paths import organisation_path
from runtime.settings import Settings
from workflows.billing_cycle import BillingCycleWorkflow
from workflows.common import search_attributes
from workflows.event_retention import EventRetentionWorkflow
from workflows.loyalty_award import LoyaltyAwardWorkflow
from workflows.partition_maintenance import PartitionMaintenanceWorkflow
from workflows.partner_charges import PROCESS as PARTNER_CHARGES_PROCESS
from workflows.partner_charges import NetflixChargeAcceptanceWorkflow
from workflows.partner_settlement import PROCESS as PARTNER_SETTLEMENT_PROCESS
from workflows.partner_settlement import PartnerSettlementWorkflow
from workflows.segment_refresh import SegmentRefreshWorkflow

CYCLES = (*range(1, 29), 31)
RUN_HOUR_UTC = 2
RETENTION_HOUR_UTC = 3
PARTITIONS_HOUR_UTC = 1
PARTNER_CHARGES_MINUTE = 15  # every hour at :15
SEGMENTS_HOUR_UTC = 4
LOYALTY_HOUR_UTC = 4
PARTNER_SETTLEMENT_DAY = 2  # the 2nd at 03:00 UTC: the month before has ended in every time zone
PARTNER_SETTLEMENT_HOUR_UTC = 3


def schedule_id(operator_id: str, cycle: int) -> str:
    return process_ids.billing_schedule(operator_id, cycle)


def _calendar(
    comment: str, *, hour: ScheduleRange, minute: int = 0, day: ScheduleRange | None = None
) -> ScheduleSpec:
    """Second 0 of ``minute`` in the ``hour`` range (UTC), on the ``day`` range of the month when given."""
    days = {"day_of_month": [day]} if day is not None else {}
    calendar = ScheduleCalendarSpec(
        hour=[hour], minute=[ScheduleRange(minute)], second=[ScheduleRange(0)], comment=comment, **days
    )
    return ScheduleSpec(calendars=[calendar])


def _scheduled(
    settings: Settings,
    run: Any,
    args: tuple[Any, ...],
    run_id: str,
    labels: ProcessLabels,
    spec: ScheduleSpec,
    operator_path: str | None = None,
) -> Schedule:
    """A process a schedule starts, with our labels and search attributes; never two runs at once."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            run,
            *args,
            id=run_id,
            task_queue=settings.task_queue,
            memo=labels.memo(),
            typed_search_attributes=search_attributes(labels, operator_path),
            static_summary=labels.summary,
        ),
        spec=spec,
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


def billing_schedule(
    settings: Settings, operator_id: str, cycle: int, operator_path: str | None = None
) -> Schedule:
    """The schedule of one cycle; its runs carry the operator's ``OrganisationPath`` when given."""
    days = ScheduleRange(cycle) if cycle <= 28 else ScheduleRange(28, 31)
    labels = ProcessLabels(
        process="BillingCycle", summary=f"Scheduled bill run of cycle {cycle}", organisation_id=operator_id
    )
    return _scheduled(
        settings,
        BillingCycleWorkflow.run,
        (RunInput(organisation_id=operator_id, bill_day=cycle),),
        process_ids.scheduled_billing_run(operator_id, cycle),
        labels,
        _calendar(f"bill cycle {cycle}", hour=ScheduleRange(RUN_HOUR_UTC), day=days),
        operator_path,
    )


def _daily(
    settings: Settings, run: Any, run_id: str, labels: ProcessLabels, hour: int, what: str
) -> Schedule:
    """A platform-wide process (no input) started once a day at ``hour``:00 UTC, never two at once."""
    return _scheduled(settings, run, (), run_id, labels, _calendar(what, hour=ScheduleRange(hour)))


def retention_schedule(settings: Settings) -> Schedule:
    """EventRetention once a day at 03:00 UTC (one schedule for the whole platform)."""
    labels = ProcessLabels(process="EventRetention", summary="Prune business events past their retention")
    return _daily(
        settings,
        EventRetentionWorkflow.run,
        process_ids.events_retention_run(),
        labels,
        RETENTION_HOUR_UTC,
        "business events retention",
    )


def partition_schedule(settings: Settings) -> Schedule:
    """PartitionMaintenance once a day at 01:00 UTC (one schedule for the whole platform)."""
    labels = ProcessLabels(
        process="PartitionMaintenance", summary="Create the coming monthly partitions; raw usage retention"
    )
    return _daily(
        settings,
        PartitionMaintenanceWorkflow.run,
        process_ids.partition_maintenance_run(),
        labels,
        PARTITIONS_HOUR_UTC,
        "monthly partitions",
    )


def partner_charges_schedule(
    settings: Settings, operator_id: str, provider: str, operator_path: str | None = None
) -> Schedule:
    """NetflixChargeAcceptance of one operator at one provider, every hour, never two at once."""
    labels = ProcessLabels(
        process=PARTNER_CHARGES_PROCESS,
        summary=f"Scheduled acceptance of {provider} charges",
        organisation_id=operator_id,
        memo_extra={"provider": provider},
    )
    return _scheduled(
        settings,
        NetflixChargeAcceptanceWorkflow.run,
        (AcceptanceInput(organisation_id=operator_id, provider=provider),),
        process_ids.scheduled_partner_charges(operator_id, provider),
        labels,
        _calendar(f"{provider} charges", hour=ScheduleRange(0, 23), minute=PARTNER_CHARGES_MINUTE),
        operator_path,
    )


def segment_schedule(settings: Settings, operator_id: str, operator_path: str | None = None) -> Schedule:
    """SegmentRefresh of every segment of the operator once a day at 04:00 UTC (after the bill runs), never
    two at once."""
    labels = ProcessLabels(
        process="SegmentRefresh", summary="Scheduled refresh of the segments", organisation_id=operator_id
    )
    return _scheduled(
        settings,
        SegmentRefreshWorkflow.run,
        (RefreshRunInput(organisation_id=operator_id),),
        process_ids.scheduled_segment_refresh(operator_id),
        labels,
        _calendar("segment refresh", hour=ScheduleRange(SEGMENTS_HOUR_UTC)),
        operator_path,
    )


async def ensure_segment_schedule(client: Client, settings: Settings, operator_id: str) -> str:
    """Create (or bring up to date) the operator's daily segment-refresh schedule; idempotent. Its id."""
    sid = process_ids.segment_schedule(operator_id)
    await _ensure(
        client, sid, segment_schedule(settings, operator_id, await organisation_path(settings, operator_id))
    )
    return sid


def loyalty_schedule(settings: Settings, operator_id: str, operator_path: str | None = None) -> Schedule:
    """LoyaltyAward of an operator on the 1st of every month at 04:00 UTC: it awards the month before."""
    labels = ProcessLabels(
        process="LoyaltyAward", summary="Monthly loyalty awards", organisation_id=operator_id
    )
    return _scheduled(
        settings,
        LoyaltyAwardWorkflow.run,
        (AwardRunInput(organisation_id=operator_id),),
        process_ids.scheduled_loyalty_award(operator_id),
        labels,
        _calendar("monthly loyalty awards", hour=ScheduleRange(LOYALTY_HOUR_UTC), day=ScheduleRange(1)),
        operator_path,
    )


async def _ensure(client: Client, sid: str, schedule: Schedule) -> None:
    try:
        await client.create_schedule(sid, schedule)
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=new)

        await client.get_schedule_handle(sid).update(replace)


async def ensure_billing_schedules(client: Client, settings: Settings, operator_id: str) -> list[str]:
    """Create (or bring up to date) the schedules of every cycle; idempotent."""
    ids = []
    path = await organisation_path(settings, operator_id)
    for cycle in CYCLES:
        sid = schedule_id(operator_id, cycle)
        await _ensure(client, sid, billing_schedule(settings, operator_id, cycle, path))
        ids.append(sid)
    return ids


async def ensure_retention_schedule(client: Client, settings: Settings) -> str:
    """Create (or bring up to date) the daily events-retention schedule; idempotent. Its id."""
    await _ensure(client, process_ids.EVENTS_RETENTION_SCHEDULE, retention_schedule(settings))
    return process_ids.EVENTS_RETENTION_SCHEDULE


async def ensure_partition_schedule(client: Client, settings: Settings) -> str:
    """Create (or bring up to date) the daily partition-maintenance schedule; idempotent. Its id."""
    await _ensure(client, process_ids.PARTITION_MAINTENANCE_SCHEDULE, partition_schedule(settings))
    return process_ids.PARTITION_MAINTENANCE_SCHEDULE


async def ensure_loyalty_schedule(client: Client, settings: Settings, operator_id: str) -> str:
    """Create (or bring up to date) the operator's monthly loyalty schedule; idempotent. Its id."""
    path = await organisation_path(settings, operator_id)
    sid = process_ids.loyalty_schedule(operator_id)
    await _ensure(client, sid, loyalty_schedule(settings, operator_id, path))
    return sid


async def next_runs(client: Client, operator_id: str) -> dict[int, datetime | None]:
    out: dict[int, datetime | None] = {}
    for cycle in CYCLES:
        description = await client.get_schedule_handle(schedule_id(operator_id, cycle)).describe()
        upcoming = description.info.next_action_times
        out[cycle] = upcoming[0] if upcoming else None
    return out


async def ensure_partner_charges_schedule(
    client: Client, settings: Settings, operator_id: str, provider: str
) -> str:
    """Create (or bring up to date) the hourly charge acceptance of an operator at a provider; its id."""
    sid = process_ids.partner_charges_schedule(operator_id, provider)
    path = await organisation_path(settings, operator_id)
    await _ensure(client, sid, partner_charges_schedule(settings, operator_id, provider, path))
    return sid


def partner_settlement_schedule(
    settings: Settings, operator_id: str, provider: str, operator_path: str | None = None
) -> Schedule:
    """PartnerSettlement of one operator with one provider on the 2nd of every month at 03:00 UTC: it
    settles the month before in the connection's time zone; never two at once."""
    labels = ProcessLabels(
        process=PARTNER_SETTLEMENT_PROCESS,
        summary=f"Monthly {provider} statement",
        organisation_id=operator_id,
        memo_extra={"provider": provider},
    )
    return _scheduled(
        settings,
        PartnerSettlementWorkflow.run,
        (SettlementRunInput(organisation_id=operator_id, provider=provider),),
        process_ids.scheduled_partner_settlement(operator_id, provider),
        labels,
        _calendar(
            f"monthly {provider} statement",
            hour=ScheduleRange(PARTNER_SETTLEMENT_HOUR_UTC),
            day=ScheduleRange(PARTNER_SETTLEMENT_DAY),
        ),
        operator_path,
    )


async def ensure_partner_settlement_schedule(
    client: Client, settings: Settings, operator_id: str, provider: str
) -> str:
    """Create (or bring up to date) the monthly settlement of an operator with a provider; its id."""
    sid = process_ids.partner_settlement_schedule(operator_id, provider)
    path = await organisation_path(settings, operator_id)
    await _ensure(client, sid, partner_settlement_schedule(settings, operator_id, provider, path))
    return sid
