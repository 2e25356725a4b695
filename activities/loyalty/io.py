"""Loyalty awards' activities as workflows call them, and their inputs and outputs (no SQLAlchemy here)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field
from temporalio import activity

PAGE_SIZE = 5000


class AwardRunInput(BaseModel):
    """Award ``period`` (YYYY-MM; None: the month before the run's day) for an operator's active rules."""

    organisation_id: str
    period: str | None = None
    on: date | None = Field(default=None, description="the run's day (default: the workflow's today)")
    page_size: int = Field(default=PAGE_SIZE, ge=1, le=10_000)
    heartbeat_seconds: int = Field(
        default=20,
        ge=2,
        le=600,
        description="a killed worker's evaluation or page is retried on another within this many seconds",
    )


class StartRun(BaseModel):
    organisation_id: str
    period: str
    process_id: str


class RunStarted(BaseModel):
    """The run (an existing one for the same period is reused) and the operator's active rules."""

    run_id: str
    rule_ids: list[str]


class EvaluateRule(BaseModel):
    """Evaluate one rule for the run's period. With ``on`` (the run's day), points awards are applied in
    the same statement (booked on ``on``); without it (runs started before that change) every award is
    left pending for the pages."""

    run_id: str
    rule_id: str
    period: str
    on: date | None = None


class EvaluateRun(BaseModel):
    """Evaluate all the run's rules for its period in one transaction: the points rules in ONE statement
    (one earn movement per account, booked on ``on``), the others pending for the pages."""

    run_id: str
    rule_ids: list[str]
    period: str
    on: date
    part: int = Field(default=0, ge=0, description="the accounts of this part (by a hash of their id)")
    parts: int = Field(default=1, ge=1, le=64, description="parts evaluated in parallel transactions")


class RunEvaluated(BaseModel):
    awarded: dict[str, int] = Field(description="rule id → awards inserted now (0 when they exist already)")


class RuleEvaluated(BaseModel):
    rule_id: str
    code: str
    awarded: int = Field(description="awards this evaluation inserted (0 when they exist already)")


class ApplyPage(BaseModel):
    """Apply up to ``limit`` pending awards of the run, booked on ``on`` (the run's day)."""

    run_id: str
    organisation_id: str
    on: date
    limit: int = PAGE_SIZE


class PageApplied(BaseModel):
    applied: int
    more: bool


class ExpirePoints(BaseModel):
    organisation_id: str
    on: date = Field(description="points whose expiry date is on or before this day expire")


class PointsExpired(BaseModel):
    accounts: int
    points: int


class RuleReport(BaseModel):
    """What one rule awarded in the run: how many awards, points and money, and what it cost."""

    rule_id: str
    code: str
    kind: str
    awards: int
    applied: int
    points: int
    amount_minor: int
    cost_minor: int
    currency: str | None


class RunReport(BaseModel):
    run_id: str
    organisation_id: str
    period: str
    status: str
    rules: list[RuleReport]
    points_expired: int = 0


class FinishRun(BaseModel):
    run_id: str
    points_expired: int = 0


class LoyaltyActivities:
    """Loyalty awards' activities (implemented in activities/loyalty/activities.py)."""

    @activity.defn(name="start_loyalty_run")
    def start_run(self, request: StartRun) -> RunStarted:
        """Open (or find) the operator's run of the period; its active rules."""
        raise NotImplementedError

    @activity.defn(name="evaluate_loyalty_rule")
    def evaluate_rule(self, request: EvaluateRule) -> RuleEvaluated:
        """Insert the rule's pending awards of the period in one set-based statement (once per
        rule, account and period)."""
        raise NotImplementedError

    @activity.defn(name="evaluate_loyalty_run")
    def evaluate_run(self, request: EvaluateRun) -> RunEvaluated:
        """Evaluate the run's rules in one transaction (the points rules in one statement)."""
        raise NotImplementedError

    @activity.defn(name="apply_loyalty_awards")
    def apply_page(self, request: ApplyPage) -> PageApplied:
        """Apply a page of the run's pending awards (points, wallet credit, voucher, offer), in one
        transaction; an applied award is never applied again."""
        raise NotImplementedError

    @activity.defn(name="expire_loyalty_points")
    def expire_points(self, request: ExpirePoints) -> PointsExpired:
        """Expire the operator's points past their expiry date (oldest first), once."""
        raise NotImplementedError

    @activity.defn(name="finish_loyalty_run")
    def finish_run(self, request: FinishRun) -> RunReport:
        """Close the run; counts and cost per rule."""
        raise NotImplementedError
