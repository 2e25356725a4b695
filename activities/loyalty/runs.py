"""Award runs: open (or find) an operator's run of a period, and report what each rule awarded and cost.

The report is read from the awards themselves (set-based), so it is right however many times a step
was retried or a worker died."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from activities.loyalty.io import RuleReport, RunReport, RunStarted
from domain.errors import NotFound
from domain.ids import new_id
from domain.loyalty import parse_period, points_value_minor
from models.base import utcnow
from models.loyalty import LoyaltyAward, LoyaltyProgramme, LoyaltyRule, LoyaltyRun


def start_run(session: Session, organisation_id: str, period: str, process_id: str) -> RunStarted:
    parse_period(period)
    session.execute(
        insert(LoyaltyRun)
        .values(
            id=new_id("lrn"),
            organisation_id=organisation_id,
            period=period,
            process_id=process_id,
            status="running",
            started_at=utcnow(),
        )
        .on_conflict_do_nothing(constraint="uq_loyalty_runs_period")
    )
    run = session.execute(
        select(LoyaltyRun).where(LoyaltyRun.organisation_id == organisation_id, LoyaltyRun.period == period)
    ).scalar_one()
    rules = session.execute(
        select(LoyaltyRule.id)
        .where(LoyaltyRule.organisation_id == organisation_id, LoyaltyRule.active.is_(True))
        .order_by(LoyaltyRule.id)
    ).scalars()
    return RunStarted(run_id=run.id, rule_ids=list(rules))


def report(session: Session, run: LoyaltyRun) -> RunReport:
    """Counts, points, money and cost per rule of the run (points cost what the programme says a point
    is worth, rounded once per rule)."""
    programme = session.get(LoyaltyProgramme, run.organisation_id)
    rows = session.execute(
        select(
            LoyaltyAward.rule_id,
            LoyaltyRule.code,
            LoyaltyAward.kind,
            func.count(),
            func.count().filter(LoyaltyAward.status == "applied"),
            func.coalesce(func.sum(LoyaltyAward.points), 0),
            func.coalesce(func.sum(LoyaltyAward.amount_minor), 0),
            func.max(LoyaltyAward.currency),
        )
        .join(LoyaltyRule, LoyaltyRule.id == LoyaltyAward.rule_id)
        .where(LoyaltyAward.run_id == run.id)
        .group_by(LoyaltyAward.rule_id, LoyaltyRule.code, LoyaltyAward.kind)
        .order_by(LoyaltyRule.code)
    ).all()
    rules = []
    for rule_id, code, kind, awards, applied, pts, amount, currency in rows:
        amount, pts = int(amount or 0), int(pts or 0)
        cost, cost_currency = amount, currency
        if kind == "points" and programme is not None:
            cost = points_value_minor(pts, Decimal(programme.point_value_minor), programme.currency)
            cost_currency = programme.currency
        rules.append(
            RuleReport(
                rule_id=rule_id,
                code=code,
                kind=kind,
                awards=awards,
                applied=applied,
                points=pts,
                amount_minor=amount,
                cost_minor=cost,
                currency=cost_currency,
            )
        )
    return RunReport(
        run_id=run.id,
        organisation_id=run.organisation_id,
        period=run.period,
        status=run.status,
        rules=rules,
        points_expired=run.points_expired,
    )


def finish_run(session: Session, run_id: str, points_expired: int) -> RunReport:
    run = session.get(LoyaltyRun, run_id, with_for_update=True)
    if run is None:
        raise NotFound("loyalty_run", run_id)
    if run.status != "completed":
        run.status, run.finished_at, run.points_expired = "completed", utcnow(), points_expired
    session.flush()
    return report(session, run)


def find_run(session: Session, organisation_id: str, run_id: str) -> LoyaltyRun:
    run = session.get(LoyaltyRun, run_id)
    if run is None or run.organisation_id != organisation_id:
        raise NotFound("loyalty_run", run_id)
    return run
