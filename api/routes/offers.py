"""/v1/offers (operator admins: create, edit, pause, resume, end, read with costs) and an account's
offers: those it may accept now, and accepting one (which applies it through the existing processes)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from activities.accounts.records import visible_account
from activities.offers import catalogue
from activities.offers.catalogue import OfferPatch, OfferRequest
from activities.offers.eligibility import eligible_offers, status_counts
from activities.offers.redemptions import REASONS, AcceptRequest
from activities.subscriptions.onboarding import local_today
from api.deps import (
    IdempotentWriteDep,
    OperatorAdminDep,
    OperatorStaffDep,
    SessionDep,
    SettingsDep,
    TemporalGatewayDep,
)
from api.docs import problem_response
from api.errors import ApiError
from api.offer_acceptance import accept_for
from api.schemas.common import Page
from api.schemas.offers import AcceptOut, EligibleOffers, OfferDetail, OfferOut
from models.offers import Offer

router = APIRouter(tags=["offers"])

Channel = Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{0,31}$")]

REFUSED_ONLY_HERE = {
    "plan_not_subscribed": "a discount's plan is not among the subscription's active services",
    "currency_mismatch": "the subscription is billed in another currency than the offer's",
}
ACCEPT_REFUSALS = {**REASONS, **REFUSED_ONLY_HERE}
"""Every reason an accept is refused with a 409 (its ``code``), and what it means."""

ACCEPT_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: problem_response(
        "The account may not take the offer now; nothing was applied and no cap was used. `code` says why: "
        + "; ".join(f"`{code}` ({why})" for code, why in ACCEPT_REFUSALS.items()),
        **{"x-refusal-codes": sorted(ACCEPT_REFUSALS)},
    ),
    422: problem_response(
        "`subscription_required` (the account has several subscriptions that could take the offer: name "
        "one in `subscription_id`), `subscription_not_found`, or `validation_error`"
    ),
}
EDIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: problem_response(
        "`offer_ended` (an ended offer is never edited nor resumed), `offer_status_invalid` (e.g. pausing "
        "a paused offer), `cap_below_redemptions` (a total cap lowered below the redemptions made)"
    ),
}


def offer_out(offer: Offer) -> dict[str, Any]:
    return OfferOut.model_validate(offer).model_dump(mode="json")


def offer_detail(session: Session, offer: Offer) -> dict[str, Any]:
    return {
        **offer_out(offer),
        "redemptions": status_counts(session, offer.id),
        "estimated_total_cost_minor": offer.estimated_cost_minor * offer.redeemed_count,
    }


@router.post("/v1/offers", status_code=201, response_model=OfferOut, summary="Create an offer")
def create_offer(body: OfferRequest, principal: OperatorAdminDep, write: IdempotentWriteDep) -> Response:
    return write(body, lambda session: offer_out(catalogue.create_offer(session, principal, body)))


@router.get("/v1/offers", response_model=Page[OfferOut], summary="The operator's offers")
def list_offers(
    principal: OperatorAdminDep,
    session: SessionDep,
    status: Literal["active", "paused", "ended"] | None = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    rows, next_cursor = catalogue.list_offers(session, principal, status=status, after=cursor, limit=limit)
    return {
        "data": [offer_out(o) for o in rows],
        "next_cursor": next_cursor,
        "has_more": next_cursor is not None,
    }


@router.get(
    "/v1/offers/{offer_id}",
    response_model=OfferDetail,
    summary="An offer with its redemptions and cost so far",
)
def get_offer(offer_id: str, principal: OperatorAdminDep, session: SessionDep) -> dict[str, Any]:
    return offer_detail(session, catalogue.visible_offer(session, principal, offer_id))


@router.patch(
    "/v1/offers/{offer_id}",
    response_model=OfferDetail,
    summary="Edit an offer's name, dates, caps, targeting",
    responses=EDIT_RESPONSES,
)
def update_offer(
    offer_id: str, body: OfferPatch, principal: OperatorAdminDep, session: SessionDep
) -> dict[str, Any]:
    if not body.model_dump(exclude_unset=True):
        raise ApiError(422, "empty_update", "Name at least one field to change")
    return offer_detail(session, catalogue.update_offer(session, principal, offer_id, body))


@router.post(
    "/v1/offers/{offer_id}/{move}",
    response_model=OfferDetail,
    summary="Pause an offer (no accepts until resumed), resume it, or end it for good",
    responses=EDIT_RESPONSES,
)
def move_offer(
    offer_id: str,
    move: Literal["pause", "resume", "end"],
    principal: OperatorAdminDep,
    write: IdempotentWriteDep,
) -> Response:
    def produce(session: Session) -> dict[str, Any]:
        return offer_detail(session, catalogue.set_status(session, principal, offer_id, move))

    return write({}, produce, status=200)


@router.get(
    "/v1/accounts/{account_id}/offers",
    response_model=EligibleOffers,
    summary="The offers the account may accept now (through a channel)",
)
def account_offers(
    account_id: str, principal: OperatorStaffDep, session: SessionDep, channel: Channel = "care"
) -> dict[str, Any]:
    account = visible_account(session, principal, account_id)
    verdicts = eligible_offers(session, account, local_today(account.timezone), channel)
    return {
        "object": "list",
        "account_id": account.id,
        "channel": channel,
        "data": [offer_out(v.offer) for v in verdicts],
    }


@router.post(
    "/v1/accounts/{account_id}/offers/{offer_id}/accept",
    status_code=201,
    response_model=AcceptOut,
    summary="Accept an offer for the account (a plan change or add-on starts the PlanChange process)",
    responses=ACCEPT_RESPONSES,
)
async def accept_offer(
    account_id: str,
    offer_id: str,
    body: AcceptRequest,
    principal: OperatorStaffDep,
    write: IdempotentWriteDep,
    settings: SettingsDep,
    gateway: TemporalGatewayDep,
) -> Response:
    return await accept_for(
        lambda session: visible_account(session, principal, account_id, lock=True),
        offer_id,
        body,
        principal.key_id,
        write,
        settings,
        gateway,
    )
