"""/v1/segments: an operator's segments of accounts by rules (data, never code), previews, refreshes (the
SegmentRefresh process), members and the dated changes (operator admins)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from activities.segments import records
from activities.segments.io import RefreshRunInput
from activities.segments.records import SegmentSpec
from api.deps import IdempotentWriteDep, OperatorAdminDep, SessionDep, SettingsDep, TemporalGatewayDep
from api.docs import problem_response
from api.errors import ApiError, not_found
from api.process_starter import ProcessStart, start_process
from api.schemas.common import Page
from api.schemas.segments import (
    ChangeOut,
    MemberOut,
    PreviewOut,
    PreviewRequest,
    RefreshStarted,
    SegmentCreate,
    SegmentOut,
    SegmentUpdate,
)
from domain import process_ids
from domain import segments as rules
from domain.principal import Principal
from domain.process_ids import ProcessLabels
from models.segments import Segment
from workflows.segment_refresh import SegmentRefreshWorkflow

router = APIRouter(prefix="/v1/segments", tags=["segments"])
Cursor = Annotated[str | None, Query(max_length=80)]
Limit = Annotated[int, Query(ge=1, le=500)]
RULE_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: problem_response(
        "`invalid_segment_rule`: the rule is not valid (an unknown field, a wrong type or value, too deep "
        "or too large); each item of `errors` names a wrong part by its JSON pointer in the body (e.g. "
        "`/rules/all/1/field`) with a message. Or `validation_error`, `empty_update`"
    )
}


def segment_out(segment: Segment) -> dict[str, Any]:
    return SegmentOut.model_validate(segment, from_attributes=True).model_dump(mode="json")


def invalid_rule(exc: rules.InvalidRule, at: str = "/rules") -> ApiError:
    """422 ``invalid_segment_rule`` naming each wrong part by its JSON pointer in the request body."""
    errors = [
        {"field": at + e.pointer, "location": "body", "code": "invalid_segment_rule", "message": e.message}
        for e in exc.errors
    ]
    first = errors[0]
    return ApiError(422, "invalid_segment_rule", f"{first['field']}: {first['message']}", errors=errors)


def checked(data: dict[str, Any]) -> None:
    try:
        rules.parse_rule(data)
    except rules.InvalidRule as exc:
        raise invalid_rule(exc) from None


def owned(session: Session, principal: Principal, segment_id: str, *, lock: bool = False) -> Segment:
    segment = records.find_segment(session, principal, segment_id, lock=lock)
    if segment is None:
        raise not_found("segment", segment_id)
    return segment


@router.post(
    "",
    status_code=201,
    response_model=SegmentOut,
    summary="Define a segment (its rule is validated)",
    responses=RULE_RESPONSES,
)
def create_segment(body: SegmentCreate, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Response:
    checked(body.rules)

    def produce(session: Session) -> dict[str, Any]:
        spec = SegmentSpec(body.code, body.name, body.description, body.rules)
        return segment_out(records.create_segment(session, principal, spec))

    return write(body, produce)


@router.get("", response_model=Page[SegmentOut], summary="Your organisation's segments")
def list_segments(
    principal: OperatorAdminDep, session: SessionDep, cursor: Cursor = None, limit: Limit = 50
) -> dict[str, Any]:
    rows, next_cursor = records.list_segments(session, principal, after=cursor, limit=limit)
    return {"data": [segment_out(s) for s in rows], "next_cursor": next_cursor, "has_more": bool(next_cursor)}


@router.post(
    "/preview",
    status_code=200,
    response_model=PreviewOut,
    summary="Count the accounts a rule selects and show a sample (writes nothing)",
    responses=RULE_RESPONSES,
)
def preview_segment(body: PreviewRequest, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Response:
    checked(body.rules)
    as_of = body.as_of or datetime.now(UTC).date()

    def produce(session: Session) -> dict[str, Any]:
        found = records.preview(session, principal, body.rules, as_of)
        return PreviewOut(as_of=as_of, count=found.count, sample=found.sample).model_dump(mode="json")

    return write(body, produce, status=200)


@router.get("/{segment_id}", response_model=SegmentOut, summary="Get a segment")
def get_segment(segment_id: str, principal: OperatorAdminDep, session: SessionDep) -> dict[str, Any]:
    return segment_out(owned(session, principal, segment_id))


@router.patch(
    "/{segment_id}",
    response_model=SegmentOut,
    summary="Edit a segment (new rules apply at the next refresh)",
    responses=RULE_RESPONSES,
)
def update_segment(
    segment_id: str, body: SegmentUpdate, principal: OperatorAdminDep, session: SessionDep
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if not changes or any(changes[k] is None for k in ("name", "rules") if k in changes):
        raise ApiError(
            422, "empty_update", "Name at least one field to change; name and rules cannot be null"
        )
    if "rules" in changes:
        checked(changes["rules"])
    segment = owned(session, principal, segment_id, lock=True)
    records.update_segment(segment, changes)
    session.flush()
    return segment_out(segment)


@router.delete("/{segment_id}", status_code=204, response_class=Response, summary="Delete a segment")
def delete_segment(segment_id: str, principal: OperatorAdminDep, session: SessionDep) -> Response:
    session.delete(owned(session, principal, segment_id, lock=True))
    session.flush()
    return Response(status_code=204)


@router.post(
    "/{segment_id}/refresh",
    status_code=202,
    response_model=RefreshStarted,
    summary="Refresh a segment now (starts the SegmentRefresh process)",
)
async def refresh_segment(
    segment_id: str,
    principal: OperatorAdminDep,
    settings: SettingsDep,
    write: IdempotentWriteDep,
    gateway: TemporalGatewayDep,
) -> Response:
    def produce(session: Session) -> dict[str, Any]:
        segment = owned(session, principal, segment_id)
        process_id = process_ids.segment_refresh(segment.id, write.key)
        return RefreshStarted(process_id=process_id, segment_id=segment.id).model_dump(mode="json")

    stored = await run_in_threadpool(write.store, {"segment_id": segment_id}, produce, status=202)
    out = stored.body
    labels = ProcessLabels(
        process="SegmentRefresh",
        summary=f"Refresh of segment {out['segment_id']}",
        organisation_id=principal.organisation_id,
    )
    run = RefreshRunInput(organisation_id=principal.organisation_id, segment_ids=[out["segment_id"]])
    start = ProcessStart(SegmentRefreshWorkflow.run, run, out["process_id"], labels)
    await start_process(await gateway.client(), settings, start, replayed=stored.replayed)
    return stored.response()


@router.get(
    "/{segment_id}/members", response_model=Page[MemberOut], summary="A segment's members (last refresh)"
)
def list_members(
    segment_id: str,
    principal: OperatorAdminDep,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    segment = owned(session, principal, segment_id)
    rows, next_cursor = records.member_page(session, segment, after=cursor, limit=limit)
    data = [MemberOut.model_validate(m, from_attributes=True).model_dump(mode="json") for m in rows]
    return {"data": data, "next_cursor": next_cursor, "has_more": bool(next_cursor)}


@router.get(
    "/{segment_id}/changes", response_model=Page[ChangeOut], summary="Who joined and who left, by refresh"
)
def list_changes(
    segment_id: str,
    principal: OperatorAdminDep,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    segment = owned(session, principal, segment_id)
    rows, next_cursor = records.change_page(session, segment, after=cursor, limit=limit)
    data = [ChangeOut.model_validate(c, from_attributes=True).model_dump(mode="json") for c in rows]
    return {"data": data, "next_cursor": next_cursor, "has_more": bool(next_cursor)}
