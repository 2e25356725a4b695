"""PartnerSettlement: an operator's monthly statement with a partner provider (Netflix…).

A Temporal Schedule per operator and connected provider starts it on the 2nd of every month at 03:00 UTC
(runtime/schedules.py); it settles the month before the run's instant in the connection's time zone (at
03:00 UTC on the 2nd every zone from UTC-12 to UTC+14 is past the month's end, so the month is closed:
the hourly acceptance stamps each charge when it decides it). Staff may name a month. One activity does
the work in one transaction, idempotent per (organisation, provider, month): a second run, a retry or a
run after ``POST /v1/partner-settlements`` finds the statement made and moves nothing.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.partners.io import (
        PartnerSettlementActivities,
        SettleDue,
        SettlementRunInput,
        StatementMade,
    )
    from workflows.common import DB_RETRY, show_details

PROCESS = "PartnerSettlement"
SETTLE_STEP = timedelta(minutes=5)


@workflow.defn(name=PROCESS)
class PartnerSettlementWorkflow:
    """Settle one month with one provider, exactly once."""

    @workflow.run
    async def run(self, request: SettlementRunInput) -> StatementMade:
        about = f"{request.provider} statement of {request.organisation_id}"
        show_details(about, f"settling {request.month or 'the month before'}")
        made = await workflow.execute_activity_method(
            PartnerSettlementActivities.settle_due,
            SettleDue(
                organisation_id=request.organisation_id,
                provider=request.provider,
                at=request.at or workflow.now(),
                month=request.month,
            ),
            start_to_close_timeout=SETTLE_STEP,
            retry_policy=DB_RETRY,
        )
        outcome = "settled" if made.created else "already settled"
        show_details(
            about,
            f"{made.month} {outcome}: {made.charge_count} charges, {made.charged_minor} charged, "
            f"{made.partner_payable_minor} payable ({made.currency}) in {made.settlement_id}",
        )
        return made
