"""/v1/usage (operations): rating runs, re-rating, suspense queue, rate decks, aliases, rated usage."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from activities.catalog.records import operator_of
from activities.usage import ingestion as usage_store
from activities.usage.context import Unrateable
from activities.usage.decks import add_deck_version, deck_versions
from activities.usage.rating import rate_pending, rerate_period
from activities.usage.suspense import event_out, list_suspense, retry
from api.deps import IdempotentWriteDep, OperatorAdminDep, SessionDep, StaffDep
from api.errors import ApiError, not_found
from api.schemas.common import BigIntId
from api.schemas.usage import (
    AliasIn,
    AliasOut,
    RateDeckIn,
    RateDeckOut,
    RatedOut,
    RatingRunIn,
    RatingRunOut,
    RerateIn,
    RerateOut,
    SuspendedEvent,
    SuspensePage,
    rated_summary,
)
from models.subscriptions import Subscription
from models.usage import RateDeckVersion, RatedUsage

router = APIRouter()


def _deck_out(row: RateDeckVersion) -> dict[str, Any]:
    return RateDeckOut.model_validate(row, from_attributes=True).model_dump(mode="json")


def _visible_subscription(session: Session, organisation_id: str, subscription_id: str) -> Subscription:
    row = session.get(Subscription, subscription_id)
    if row is None or row.organisation_id not in usage_store.subtree(session, organisation_id):
        raise not_found("subscription", subscription_id)
    assert isinstance(row, Subscription)
    return row


@router.post(
    "/rating-runs",
    response_model=RatingRunOut,
    summary="Rate your subtree's accepted events now (each bill run also rates them before invoicing)",
)
def rating_run(body: RatingRunIn, principal: OperatorAdminDep, session: SessionDep) -> dict[str, Any]:
    return rate_pending(session, organisation_id=principal.organisation_id, limit=body.limit)


@router.post("/rerate", response_model=RerateOut, summary="Re-rate a period; differences become adjustments")
def rerate(
    body: RerateIn, principal: OperatorAdminDep, session: SessionDep, write: IdempotentWriteDep
) -> Response:
    _visible_subscription(session, principal.organisation_id, body.subscription_id)

    def produce(session: Session) -> dict[str, Any]:
        try:
            return rerate_period(session, body.subscription_id, body.period_start, f"rerate:{write.key}"[:64])
        except Unrateable as exc:
            raise ApiError(409, exc.code, exc.detail) from None

    return write(body, produce, status=200)


@router.get(
    "/rated",
    response_model=RatedOut,
    summary="Rated usage of a subscription's period, per metric and destination",
)
def rated(
    principal: StaffDep,
    session: SessionDep,
    subscription_id: Annotated[str, Query(max_length=32)],
    period_start: date,
) -> dict[str, Any]:
    _visible_subscription(session, principal.organisation_id, subscription_id)
    rows = list(
        session.execute(
            select(RatedUsage)
            .where(RatedUsage.subscription_id == subscription_id, RatedUsage.period_start == period_start)
            .order_by(RatedUsage.id)
        ).scalars()
    )
    currency = rows[0].currency if rows else None
    summary = rated_summary(rows)
    adjustments = sum(1 for r in rows if r.kind == "adjustment")
    return {
        "subscription_id": subscription_id,
        "period_start": period_start.isoformat(),
        "currency": currency,
        "adjustments": adjustments,
        **summary,
    }


@router.get("/suspense", response_model=SuspensePage, summary="Events waiting in suspense, with reasons")
def suspense(
    principal: StaffDep,
    session: SessionDep,
    reason: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,19}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    after = int(cursor) if cursor else None
    rows = list_suspense(session, principal.organisation_id, reason=reason, after=after, limit=limit + 1)
    data = [event_out(r) for r in rows[:limit]]
    more = len(rows) > limit
    return {"data": data, "next_cursor": str(data[-1]["id"]) if more else None, "has_more": more}


@router.post(
    "/suspense/{event_id}/retry", response_model=SuspendedEvent, summary="Rate a suspended event again"
)
def retry_suspended(event_id: BigIntId, principal: OperatorAdminDep, session: SessionDep) -> dict[str, Any]:
    return event_out(retry(session, principal.organisation_id, event_id))


@router.post(
    "/rate-decks", status_code=201, response_model=RateDeckOut, summary="Publish a rate deck version"
)
def add_deck(body: RateDeckIn, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Response:
    def produce(session: Session) -> dict[str, Any]:
        try:
            row = add_deck_version(session, operator_of(principal), body.deck, body.effective_from)
        except IntegrityError:
            raise ApiError(409, "conflict", "another version of this deck was published meanwhile") from None
        return _deck_out(row)

    return write(body, produce)


@router.get("/rate-decks/{code}", response_model=list[RateDeckOut], summary="Versions of a rate deck")
def deck(code: str, principal: StaffDep, session: SessionDep) -> list[dict[str, Any]]:
    rows = deck_versions(session, operator_of(principal), code)
    if not rows:
        raise not_found("rate_deck", code)
    return [_deck_out(r) for r in rows]


@router.put(
    "/subscribers/{alias}", response_model=AliasOut, summary="Map a phone number or username to a service"
)
def put_alias(alias: str, body: AliasIn, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    if body.alias != alias:
        raise ApiError(422, "alias_mismatch", f"the body names {body.alias}, the path {alias}")
    row = usage_store.add_alias(session, principal.organisation_id, alias, body.service_id)
    return {"alias": row.alias, "subscription_id": row.subscription_id, "service_id": row.service_id}
