"""/v1/loyalty-programme, /v1/loyalty-rules, /v1/loyalty-runs and /v1/accounts/{id}/points: an operator's
award rules, its monthly award runs (LoyaltyAward processes) and each account's points (operator staff)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from anyio import from_thread
from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from activities.accounts.records import visible_account
from activities.catalog.records import operator_of
from activities.loyalty import points, redemptions, reversals, rules, runs
from activities.loyalty.io import AwardRunInput
from activities.shared.pagination import decode_cursor, encode_cursor
from api.deps import (
    IdempotentWriteDep,
    OperatorAdminDep,
    OperatorStaffDep,
    SessionDep,
    SettingsDep,
    TemporalGateway,
    TemporalGatewayDep,
)
from api.docs import problem_response
from api.errors import ApiError
from api.process_starter import ProcessStart, start_process
from api.schemas.loyalty import (
    PointsMovementOut,
    PointsOut,
    ProgrammeIn,
    ProgrammeOut,
    RedemptionIn,
    RedemptionOut,
    ReversalIn,
    RuleIn,
    RuleOut,
    RulePage,
    RuleUpdate,
    RunIn,
    RunOut,
    RunStartedOut,
)
from domain import process_ids
from domain.errors import NotFound
from domain.process_ids import ProcessLabels
from models.loyalty import LoyaltyAward, LoyaltyProgramme, LoyaltyRedemption, LoyaltyRule
from runtime.settings import Settings
from workflows.loyalty_award import LoyaltyAwardWorkflow

router = APIRouter(tags=["loyalty"])


def rule_out(rule: LoyaltyRule) -> dict[str, Any]:
    return RuleOut.model_validate(rule).model_dump(mode="json")


def programme_out(programme: LoyaltyProgramme) -> dict[str, Any]:
    return ProgrammeOut.model_validate(programme).model_dump(mode="json")


@router.put(
    "/v1/loyalty-programme",
    response_model=ProgrammeOut,
    summary="Set what a point is worth and when points expire",
)
def put_programme(body: ProgrammeIn, principal: OperatorAdminDep, session: SessionDep) -> dict[str, Any]:
    programme = rules.set_programme(
        session, operator_of(principal), body.currency, body.point_value_minor, body.points_expiry_months
    )
    return programme_out(programme)


@router.get("/v1/loyalty-programme", response_model=ProgrammeOut, summary="Your loyalty programme")
def get_programme(principal: OperatorStaffDep, session: SessionDep) -> dict[str, Any]:
    programme = session.get(LoyaltyProgramme, operator_of(principal))
    if programme is None:
        raise NotFound("loyalty_programme", operator_of(principal))
    return programme_out(programme)


@router.post("/v1/loyalty-rules", status_code=201, response_model=RuleOut, summary="Add a loyalty award rule")
def create_rule(body: RuleIn, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Response:
    def produce(session: Session) -> dict[str, Any]:
        rule = rules.create_rule(
            session, operator_of(principal), body.code, body.name, body.definition, body.active
        )
        return rule_out(rule)

    return write(body, produce)


@router.get("/v1/loyalty-rules", response_model=RulePage, summary="Your loyalty award rules")
def list_rules(
    principal: OperatorStaffDep,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    after = decode_cursor(cursor, "lrl") if cursor else None
    rows, last = rules.list_rules(session, operator_of(principal), after=after, limit=limit)
    return {
        "data": [rule_out(r) for r in rows],
        "next_cursor": encode_cursor(last) if last else None,
        "has_more": last is not None,
    }


@router.get("/v1/loyalty-rules/{rule_id}", response_model=RuleOut, summary="Get a loyalty award rule")
def get_rule(rule_id: str, principal: OperatorStaffDep, session: SessionDep) -> dict[str, Any]:
    return rule_out(rules.find_rule(session, operator_of(principal), rule_id))


@router.patch("/v1/loyalty-rules/{rule_id}", response_model=RuleOut, summary="Edit, pause or resume a rule")
def update_rule(
    rule_id: str, body: RuleUpdate, principal: OperatorAdminDep, session: SessionDep
) -> dict[str, Any]:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if not changes or any(value is None for value in changes.values()):
        raise ApiError(422, "empty_update", "Name at least one field to change, none of them null")
    rule = rules.find_rule(session, operator_of(principal), rule_id, lock=True)
    rules.update_rule(rule, changes)
    session.flush()
    return rule_out(rule)


@router.post(
    "/v1/loyalty-runs",
    status_code=202,
    response_model=RunStartedOut,
    summary="Award a period now (a LoyaltyAward process; the monthly schedule does it on the 1st)",
)
async def start_run(
    body: RunIn,
    principal: OperatorAdminDep,
    settings: SettingsDep,
    write: IdempotentWriteDep,
    gateway: TemporalGatewayDep,
) -> Response:
    operator = operator_of(principal)

    def produce(session: Session) -> dict[str, Any]:
        process_id = process_ids.loyalty_award(operator, body.period)
        from_thread.run(_start_award, gateway, settings, operator, body.period, process_id)
        return {"process_id": process_id, "period": body.period}

    return await run_in_threadpool(write, body, produce, status=202)


async def _start_award(
    gateway: TemporalGateway, settings: Settings, operator: str, period: str, process_id: str
) -> None:
    labels = ProcessLabels(
        process="LoyaltyAward", summary=f"Loyalty awards for {period}", organisation_id=operator
    )
    start = ProcessStart(
        LoyaltyAwardWorkflow.run, AwardRunInput(organisation_id=operator, period=period), process_id, labels
    )
    await start_process(await gateway.client(), settings, start)


@router.get("/v1/loyalty-runs/{run_id}", response_model=RunOut, summary="A run's counts and cost per rule")
def get_run(run_id: str, principal: OperatorStaffDep, session: SessionDep) -> dict[str, Any]:
    run = runs.find_run(session, operator_of(principal), run_id)
    report = runs.report(session, run)
    return RunOut(
        id=run.id,
        organisation_id=run.organisation_id,
        period=run.period,
        status=run.status,
        process_id=run.process_id,
        started_at=run.started_at,
        finished_at=run.finished_at,
        points_expired=run.points_expired,
        rules=report.rules,
    ).model_dump(mode="json")


@router.get(
    "/v1/accounts/{account_id}/points", response_model=PointsOut, summary="Points balance and movements"
)
def get_points(
    account_id: str,
    principal: OperatorStaffDep,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    account = visible_account(session, principal, account_id)
    return points_view(session, account.id, cursor, limit)


def points_view(session: Session, account_id: str, cursor: str | None, limit: int) -> dict[str, Any]:
    """An account's balance and a page of its movements, newest first (reused by the self-service API)."""
    after = decode_cursor(cursor, "lpm") if cursor else None
    rows, last = points.movements(session, account_id, after=after, limit=limit)
    return PointsOut(
        account_id=account_id,
        balance=points.balance_of(session, account_id),
        movements=[PointsMovementOut.model_validate(m) for m in rows],
        next_cursor=encode_cursor(last) if last else None,
        has_more=last is not None,
    ).model_dump(mode="json")


def redemption_out(session: Session, redemption: LoyaltyRedemption) -> dict[str, Any]:
    balance = points.balance_of(session, redemption.account_id)
    return RedemptionOut.model_validate({**_attrs(redemption), "balance": balance}).model_dump(mode="json")


def _attrs(row: LoyaltyRedemption) -> dict[str, Any]:
    return {name: getattr(row, name) for name in RedemptionOut.model_fields if name != "balance"}


@router.post(
    "/v1/accounts/{account_id}/points/redemptions",
    status_code=201,
    response_model=RedemptionOut,
    summary="Redeem points for wallet credit or a voucher",
    responses={
        409: problem_response(
            "`points_insufficient`: the balance holds fewer points than asked; nothing moved and the balance "
            "is unchanged. `loyalty_programme_missing`: the operator has no loyalty programme yet"
        ),
        422: problem_response("`points_too_few`: the points asked are worth less than one minor unit"),
    },
)
def redeem(
    account_id: str, body: RedemptionIn, principal: OperatorStaffDep, write: IdempotentWriteDep
) -> Response:
    today = datetime.now(UTC).date()

    def produce(session: Session) -> dict[str, Any]:
        account = visible_account(session, principal, account_id, lock=True)
        key = f"{operator_of(principal)}:{write.key}"
        redemption = redemptions.redeem_points(session, account, body.points, body.reward, key, today)
        return redemption_out(session, redemption)

    return write(body, produce)


@router.post(
    "/v1/accounts/{account_id}/points/reversals",
    status_code=201,
    response_model=PointsMovementOut,
    summary="Take back points awarded in error (one earn movement, or one award)",
    responses={
        409: problem_response(
            "`points_insufficient`: some of those points were already used; `points_already_reversed`: "
            "every point of the movement was taken back; `award_not_credited`: the award's points are not "
            "credited yet"
        )
    },
)
def reverse(
    account_id: str, body: ReversalIn, principal: OperatorAdminDep, write: IdempotentWriteDep
) -> Response:
    today = datetime.now(UTC).date()

    def produce(session: Session) -> dict[str, Any]:
        account = visible_account(session, principal, account_id)
        if body.award_id is not None:
            award = session.get(LoyaltyAward, body.award_id)
            if award is None or award.account_id != account.id:
                raise NotFound("loyalty_award", body.award_id)
            movement = reversals.reverse_award(session, award.organisation_id, award.id, body.reason, today)
            return PointsMovementOut.model_validate(movement).model_dump(mode="json")
        earned = session.get(points.LoyaltyPointMovement, body.movement_id)
        if earned is None or earned.account_id != account.id:
            raise NotFound("points_movement", str(body.movement_id))
        movement = points.reverse(session, earned.organisation_id, earned.id, body.reason, today)
        return PointsMovementOut.model_validate(movement).model_dump(mode="json")

    return write(body, produce)
