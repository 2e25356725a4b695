"""/v1/usage (operations): rating runs, re-rating, suspense queue, rate decks, aliases, rated usage."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from activities.catalog.records import operator_of
from activities.usage import ingestion as usage_store
from activities.usage.context import Unrateable
from activities.usage.decks import add_deck_version, deck_versions
from activities.usage.rating import rate_pending, rerate_period
from activities.usage.suspense import event_out, list_suspense, retry
from api.deps import IdempotencyKeyDep, OperatorAdminDep, SettingsDep, StaffDep
from api.errors import ApiError, not_found
from api.idempotency import run_once
from api.schemas.common import BigIntId
from api.schemas.usage import (
    AliasIn,
    RateDeckIn,
    RateDeckOut,
    RatingRunIn,
    RerateIn,
    RerateOut,
    SuspendedEvent,
    SuspensePage,
    rated_summary,
)
from models.base import unit_of_work
from models.subscriptions import Subscription
from models.usage import RateDeckVersion, RatedUsage

router = APIRouter()


def _deck_out(row: RateDeckVersion) -> dict[str, Any]:
    return RateDeckOut.model_validate(row, from_attributes=True).model_dump(mode="json")


def _visible_subscription(session: Any, organisation_id: str, subscription_id: str) -> Subscription:
    row = session.get(Subscription, subscription_id)
    if row is None or row.organisation_id not in usage_store.subtree(session, organisation_id):
        raise not_found("subscription", subscription_id)
    assert isinstance(row, Subscription)
    return row


@router.post(
    "/rating-runs",
    summary="Rate your subtree's accepted events now (each bill run also rates them before invoicing)",
)
def rating_run(body: RatingRunIn, principal: OperatorAdminDep, settings: SettingsDep) -> dict[str, Any]:
    with unit_of_work(settings.database_url or "") as session:
        return rate_pending(session, organisation_id=principal.organisation_id, limit=body.limit)


@router.post("/rerate", response_model=RerateOut, summary="Re-rate a period; differences become adjustments")
def rerate(
    body: RerateIn,
    request: Request,
    principal: OperatorAdminDep,
    settings: SettingsDep,
    key: IdempotencyKeyDep,
) -> JSONResponse:
    with unit_of_work(settings.database_url or "") as session:
        _visible_subscription(session, principal.organisation_id, body.subscription_id)

        def produce() -> tuple[int, dict[str, Any]]:
            try:
                return 200, rerate_period(
                    session, body.subscription_id, body.period_start, f"rerate:{key}"[:64]
                )
            except Unrateable as exc:
                raise ApiError(409, exc.code, exc.detail) from None

        stored = run_once(
            session,
            organisation_id=principal.organisation_id,
            key=key,
            method="POST",
            path=request.url.path,
            payload=body.model_dump(mode="json"),
            produce=produce,
        )
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else {}
    return JSONResponse(stored.body, status_code=stored.status, headers=headers)


@router.get("/rated", summary="Rated usage of a subscription's period, per metric and destination")
def rated(
    principal: StaffDep,
    settings: SettingsDep,
    subscription_id: Annotated[str, Query(max_length=32)],
    period_start: date,
) -> dict[str, Any]:
    with unit_of_work(settings.database_url or "") as session:
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
    settings: SettingsDep,
    reason: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,19}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    with unit_of_work(settings.database_url or "") as session:
        rows = list_suspense(
            session,
            principal.organisation_id,
            reason=reason,
            after=int(cursor) if cursor else None,
            limit=limit + 1,
        )
        data = [event_out(r) for r in rows[:limit]]
    more = len(rows) > limit
    return {"data": data, "next_cursor": str(data[-1]["id"]) if more else None, "has_more": more}


@router.post(
    "/suspense/{event_id}/retry", response_model=SuspendedEvent, summary="Rate a suspended event again"
)
def retry_suspended(event_id: BigIntId, principal: OperatorAdminDep, settings: SettingsDep) -> dict[str, Any]:
    with unit_of_work(settings.database_url or "") as session:
        return event_out(retry(session, principal.organisation_id, event_id))


@router.post(
    "/rate-decks", status_code=201, response_model=RateDeckOut, summary="Publish a rate deck version"
)
def add_deck(
    body: RateDeckIn,
    request: Request,
    principal: OperatorAdminDep,
    settings: SettingsDep,
    key: IdempotencyKeyDep,
) -> JSONResponse:
    with unit_of_work(settings.database_url or "") as session:

        def produce() -> tuple[int, dict[str, Any]]:
            try:
                row = add_deck_version(session, operator_of(principal), body.deck, body.effective_from)
            except IntegrityError:
                raise ApiError(
                    409, "conflict", "another version of this deck was published meanwhile"
                ) from None
            return 201, _deck_out(row)

        stored = run_once(
            session,
            organisation_id=principal.organisation_id,
            key=key,
            method="POST",
            path=request.url.path,
            payload=body.model_dump(mode="json"),
            produce=produce,
        )
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else {}
    return JSONResponse(stored.body, status_code=stored.status, headers=headers)


@router.get("/rate-decks/{code}", response_model=list[RateDeckOut], summary="Versions of a rate deck")
def deck(code: str, principal: StaffDep, settings: SettingsDep) -> list[dict[str, Any]]:
    with unit_of_work(settings.database_url or "") as session:
        rows = deck_versions(session, operator_of(principal), code)
        if not rows:
            raise not_found("rate_deck", code)
        return [_deck_out(r) for r in rows]


@router.put("/subscribers/{alias}", summary="Map a phone number or username to a service")
def put_alias(alias: str, body: AliasIn, principal: StaffDep, settings: SettingsDep) -> dict[str, Any]:
    if body.alias != alias:
        raise ApiError(422, "alias_mismatch", f"the body names {body.alias}, the path {alias}")
    with unit_of_work(settings.database_url or "") as session:
        row = usage_store.add_alias(session, principal.organisation_id, alias, body.service_id)
        return {"alias": row.alias, "subscription_id": row.subscription_id, "service_id": row.service_id}
