"""Loyalty awards' Temporal activities: each one database transaction (sync, on the thread pool). The
long ones heartbeat from the process's heartbeat thread while their statement runs, so a killed worker's
step is retried within the run's heartbeat timeout (``AwardRunInput.heartbeat_seconds``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from temporalio import activity

from activities.loyalty import awards, evaluation, io, points, run_points, runs
from activities.loyalty.io import (
    ApplyPage,
    EvaluateRule,
    EvaluateRun,
    ExpirePoints,
    FinishRun,
    PageApplied,
    PointsExpired,
    RuleEvaluated,
    RunEvaluated,
    RunReport,
    RunStarted,
    StartRun,
)
from activities.shared.heartbeat import heartbeating
from domain.errors import NotFound
from models.base import unit_of_work
from models.loyalty import LoyaltyRule
from runtime.settings import Settings


class LoyaltyActivities(io.LoyaltyActivities):
    """Loyalty awards' activities, bound to the database."""

    def __init__(self, settings: Settings) -> None:
        if not settings.database_url:
            raise RuntimeError("DATABASE_URL is not set: loyalty activities need the database")
        self.url = settings.database_url

    @activity.defn(name="start_loyalty_run")
    def start_run(self, request: StartRun) -> RunStarted:
        """Open (or find) the operator's run of the period; its active rules."""
        with unit_of_work(self.url) as session:
            return runs.start_run(session, request.organisation_id, request.period, request.process_id)

    @activity.defn(name="evaluate_loyalty_rule")
    def evaluate_rule(self, request: EvaluateRule) -> RuleEvaluated:
        """Insert the rule's awards of the period in one set-based statement (once per rule, account
        and period); points awards applied in it when the run's day is given."""
        with heartbeating(), unit_of_work(self.url) as session:
            rule = session.get(LoyaltyRule, request.rule_id)
            if rule is None:
                raise NotFound("loyalty_rule", request.rule_id)
            inserted = evaluation.evaluate(session, request.run_id, rule, request.period, request.on)
            return RuleEvaluated(rule_id=rule.id, code=rule.code, awarded=inserted)

    @activity.defn(name="evaluate_loyalty_run")
    def evaluate_run(self, request: EvaluateRun) -> RunEvaluated:
        """Evaluate the run's rules in one transaction: the points rules in one statement (one earn
        movement per account), the others as pending awards for the pages."""
        with heartbeating(), unit_of_work(self.url) as session:
            found = session.execute(select(LoyaltyRule).where(LoyaltyRule.id.in_(request.rule_ids)))
            by_id = {rule.id: rule for rule in found.scalars()}
            missing = [rule_id for rule_id in request.rule_ids if rule_id not in by_id]
            if missing:
                raise NotFound("loyalty_rule", missing[0])
            rules = [by_id[rule_id] for rule_id in request.rule_ids]
            inserted = run_points.evaluate_run(
                session, request.run_id, rules, request.period, request.on, request.part, request.parts
            )
            return RunEvaluated(awarded=inserted)

    @activity.defn(name="apply_loyalty_awards")
    def apply_page(self, request: ApplyPage) -> PageApplied:
        """Apply a page of the run's pending awards (points, wallet credit, voucher, offer), in one
        transaction; an applied award is never applied again."""
        with heartbeating(), unit_of_work(self.url) as session:
            applied, more = awards.apply_page(
                session, request.run_id, request.organisation_id, request.limit, request.on
            )
            return PageApplied(applied=applied, more=more)

    @activity.defn(name="expire_loyalty_points")
    def expire_points(self, request: ExpirePoints) -> PointsExpired:
        """Expire the operator's points past their expiry date (oldest first), once."""
        with heartbeating(), unit_of_work(self.url) as session:
            accounts, expired = points.expire(session, request.organisation_id, request.on)
            return PointsExpired(accounts=accounts, points=expired)

    @activity.defn(name="finish_loyalty_run")
    def finish_run(self, request: FinishRun) -> RunReport:
        """Close the run; counts and cost per rule."""
        with unit_of_work(self.url) as session:
            return runs.finish_run(session, request.run_id, request.points_expired)

    def all(self) -> list[Any]:
        return [
            self.start_run,
            self.evaluate_rule,
            self.evaluate_run,
            self.apply_page,
            self.expire_points,
            self.finish_run,
        ]
