"""LoyaltyAward: award an operator's loyalty rules for one period (a calendar month).

Started by the operator's monthly Temporal Schedule (runtime/schedules.py; the period is then the month
before the run's day) or through the API for a named period. Steps, each an idempotent activity: open the
run; evaluate each active rule in one set-based statement (the awards table's unique key (rule, account,
period) refuses a second award; points awards are applied in that same statement, with their movements
and events, since the ``loyalty-points-applied-at-evaluation`` patch); apply the pending awards page by
page (points left pending by older runs, wallet credit, vouchers, offers; an award is applied and marked
in one transaction, so a worker killed mid-page costs a retry that applies the rest, nothing twice);
expire points past their date; close the run with counts and cost per rule (also at
``GET /v1/loyalty-runs/{id}``).
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.loyalty.io import (
        ApplyPage,
        AwardRunInput,
        EvaluateRule,
        EvaluateRun,
        ExpirePoints,
        FinishRun,
        LoyaltyActivities,
        RunReport,
        StartRun,
    )
    from domain.loyalty import parse_period, previous_period
    from workflows.common import DB_RETRY, show_details

DB_STEP = timedelta(minutes=1)
BULK_STEP = timedelta(minutes=10)
PAGES_PER_RUN = 5_000
POINTS_AT_EVALUATION = "loyalty-points-applied-at-evaluation"
ONE_STATEMENT_PER_RUN = "loyalty-rules-in-one-statement"
HEARTBEATS = "loyalty-heartbeats"
EVALUATION_PARTS = 2


@workflow.defn(name="LoyaltyAward")
class LoyaltyAwardWorkflow:
    """Evaluate the operator's award rules for the period and apply each award exactly once."""

    @workflow.run
    async def run(self, request: AwardRunInput) -> RunReport:
        today = request.on or workflow.now().date()
        period = request.period or previous_period(today)
        parse_period(period)
        about = f"Loyalty awards of {request.organisation_id} for {period}"
        # The long steps heartbeat: a worker killed in one is noticed within heartbeat_seconds, not
        # after BULK_STEP (runs started before keep their 10-minute wait).
        self._beat = timedelta(seconds=request.heartbeat_seconds) if workflow.patched(HEARTBEATS) else None
        show_details(about, "opening the run")
        started = await workflow.execute_activity_method(
            LoyaltyActivities.start_run,
            StartRun(
                organisation_id=request.organisation_id, period=period, process_id=workflow.info().workflow_id
            ),
            start_to_close_timeout=DB_STEP,
            retry_policy=DB_RETRY,
        )
        if workflow.patched(ONE_STATEMENT_PER_RUN):
            # All the rules in one activity; the points rules in one statement with one earn movement per
            # account (bench/loyalty.py's docstring has the figures). Runs started before keep their steps.
            # In EVALUATION_PARTS parallel transactions over disjoint accounts (a hash of the id).
            show_details(about, f"evaluating {len(started.rule_ids)} rules")
            await asyncio.gather(
                *(
                    workflow.execute_activity_method(
                        LoyaltyActivities.evaluate_run,
                        EvaluateRun(
                            run_id=started.run_id,
                            rule_ids=started.rule_ids,
                            period=period,
                            on=today,
                            part=part,
                            parts=EVALUATION_PARTS,
                        ),
                        start_to_close_timeout=BULK_STEP,
                        heartbeat_timeout=self._beat,
                        retry_policy=DB_RETRY,
                    )
                    for part in range(EVALUATION_PARTS)
                )
            )
        else:
            await self._each_rule(about, started.run_id, started.rule_ids, period, today)
        applied = 0
        for _ in range(PAGES_PER_RUN):
            show_details(about, f"applying awards ({applied} applied)")
            page = await workflow.execute_activity_method(
                LoyaltyActivities.apply_page,
                ApplyPage(
                    run_id=started.run_id,
                    organisation_id=request.organisation_id,
                    on=today,
                    limit=request.page_size,
                ),
                start_to_close_timeout=BULK_STEP,
                heartbeat_timeout=self._beat,
                retry_policy=DB_RETRY,
            )
            applied += page.applied
            if not page.more:
                break
        show_details(about, "expiring points")
        expired = await workflow.execute_activity_method(
            LoyaltyActivities.expire_points,
            ExpirePoints(organisation_id=request.organisation_id, on=today),
            start_to_close_timeout=BULK_STEP,
            heartbeat_timeout=self._beat,
            retry_policy=DB_RETRY,
        )
        show_details(about, "reporting")
        report = await workflow.execute_activity_method(
            LoyaltyActivities.finish_run,
            FinishRun(run_id=started.run_id, points_expired=expired.points),
            start_to_close_timeout=DB_STEP,
            retry_policy=DB_RETRY,
        )
        show_details(
            about, f"done: {sum(r.awards for r in report.rules)} awards, {applied} applied in this run"
        )
        return report

    async def _each_rule(
        self, about: str, run_id: str, rule_ids: list[str], period: str, today: date
    ) -> None:
        """Before the one-statement patch: one activity per rule (points applied in it since the
        points-at-evaluation patch: the activity then needs the run's day)."""
        points_at_evaluation = workflow.patched(POINTS_AT_EVALUATION)
        for number, rule_id in enumerate(rule_ids, start=1):
            show_details(about, f"evaluating rule {number} of {len(rule_ids)} ({rule_id})")
            await workflow.execute_activity_method(
                LoyaltyActivities.evaluate_rule,
                EvaluateRule(
                    run_id=run_id,
                    rule_id=rule_id,
                    period=period,
                    on=today if points_at_evaluation else None,
                ),
                start_to_close_timeout=BULK_STEP,
                heartbeat_timeout=self._beat,
                retry_policy=DB_RETRY,
            )
