"""/v1/usage: ingest events (JSON batches, CDR CSV uploads, RADIUS accounting) and authorise prepaid use.

Rating, re-rating, the suspense queue, rate decks and subscriber aliases are in ``usage_admin``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from activities.usage import ingestion as usage_store
from activities.usage.authorize import CreditLimit, NoFunds, authorize
from activities.usage.csv_import import import_csv
from activities.usage.ingestion import resolve_subscribers
from activities.usage.prepaid import WalletFunds, is_prepaid
from activities.usage.radius import ingest_radius
from api.deps import IdempotentWriteDep, SessionDep, StaffDep
from api.docs import BINARY, problem_response
from api.errors import ApiError
from api.routes import usage_admin
from api.schemas.usage import (
    MAX_BATCH,
    AuthorizeIn,
    AuthorizeOut,
    IngestOut,
    RadiusBatch,
    RadiusOut,
    UsageBatch,
)

router = APIRouter(prefix="/v1/usage", tags=["usage"])
router.include_router(usage_admin.router)


def _too_large(count: int, what: str) -> ApiError:
    return ApiError(
        413,
        "usage_batch_too_large",
        f"{count} {what} in one request; send at most {MAX_BATCH} per request",
        limit=MAX_BATCH,
    )


@router.post("", response_model=IngestOut, summary="Ingest a batch of usage events (idempotent per event)")
def ingest_events(body: UsageBatch, principal: StaffDep, write: IdempotentWriteDep) -> Response:
    if len(body.events) > MAX_BATCH:
        raise _too_large(len(body.events), "events")

    def produce(session: Session) -> dict[str, Any]:
        return usage_store.ingest(session, principal.organisation_id, body.events).as_dict()

    return write(body.events, produce, status=200)


@router.post(
    "/imports",
    response_model=IngestOut,
    summary="Upload a CDR file (text/csv); rejected rows are reported by line number",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": BINARY}}, "required": True}},
    responses={415: problem_response("`unsupported_media_type`: the body is not text/csv")},
)
async def import_cdrs(request: Request, principal: StaffDep, write: IdempotentWriteDep) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("text/csv", "text/plain", "application/csv"):
        raise ApiError(415, "unsupported_media_type", "Send the CDR file as text/csv")
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "csv_encoding", f"The file is not UTF-8 (byte {exc.start})") from None

    def produce(session: Session) -> dict[str, Any]:
        def store(events: list[Any], report: usage_store.IngestReport) -> None:
            usage_store.store_events(session, principal.organisation_id, events, "csv", report)

        return import_csv(text.splitlines(), store).as_dict("line")

    return await run_in_threadpool(write, text, produce, status=200)


@router.post("/radius", response_model=RadiusOut, summary="Ingest RADIUS accounting records (radacct)")
def ingest_accounting(body: RadiusBatch, principal: StaffDep, write: IdempotentWriteDep) -> Response:
    if len(body.records) > MAX_BATCH:
        raise _too_large(len(body.records), "records")
    return write(
        body.records,
        lambda session: ingest_radius(session, principal.organisation_id, body.records),
        status=200,
    )


def funds_for(session: Any, organisation_id: str, subscriber: str, credit_limit: Any) -> Any:
    """Prepaid subscribers spend their wallet (plus any credit limit); others their credit limit only."""
    found = resolve_subscribers(session, organisation_id, [subscriber]).get(subscriber)
    if found is not None and is_prepaid(session, found[0]):
        return WalletFunds(credit_limit=Decimal(credit_limit or 0))
    return CreditLimit(credit_limit) if credit_limit is not None else NoFunds()


@router.post(
    "/authorize",
    response_model=AuthorizeOut,
    summary="Prepaid: the longest call / largest volume the allowance and funds pay for",
)
def authorize_usage(body: AuthorizeIn, principal: StaffDep, session: SessionDep) -> dict[str, Any]:
    funds = funds_for(session, principal.organisation_id, body.subscriber, body.credit_limit)
    return authorize(
        session,
        principal.organisation_id,
        subscriber=body.subscriber,
        event_type=body.event_type,
        metric=body.metric,
        destination=body.destination,
        at=body.at or datetime.now(UTC),
        requested=body.requested,
        funds=funds,
    )
