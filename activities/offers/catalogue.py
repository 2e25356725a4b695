"""The operator's offers: create, edit, pause, resume, end, read (each one transaction in the caller's).

Offers belong to the operator (the root of the caller's tree): another organisation's offer is not found.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.catalog import records as catalog
from activities.shared.pagination import fetch_page
from domain.catalog import Code, PlanSpec
from domain.currency import MINOR_UNITS
from domain.errors import Conflict, NotFound, RuleViolation
from domain.ids import is_valid_id, new_id
from domain.money import round_minor
from domain.offers import CHANGE_KINDS, DISCOUNT_KINDS, VALUE_KINDS, Terms, estimated_cost
from domain.principal import Principal
from models.base import utcnow
from models.offers import Offer
from models.segments import Segment

Channel = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Count = Annotated[int, Field(ge=1, le=100_000_000)]
Minor = Annotated[int, Field(gt=0, le=10**15)]


class OfferRequest(BaseModel):
    """POST /v1/offers."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["discount", "addon", "upgrade", "wallet_credit", "voucher"]
    currency: str = Field(pattern="^[A-Z]{3}$")
    plan_code: Code | None = Field(
        default=None, description="The plan or add-on discounted (or added, or upgraded to)"
    )
    percent: Decimal | None = Field(default=None, gt=0, le=100, max_digits=7, decimal_places=4)
    amount_minor: Minor | None = Field(default=None, description="Off each period (instead of a percent)")
    periods: int | None = Field(default=None, ge=1, le=36, description="Billing periods discounted")
    value_minor: Minor | None = Field(default=None, description="Wallet credit or voucher value")
    segment_ids: list[str] = Field(default_factory=list, max_length=50, description="Member of any: eligible")
    channels: list[Channel] = Field(default_factory=list, max_length=20, description="Empty: any channel")
    grant_only: bool = Field(default=False, description="Only accounts the offer was granted to")
    starts_on: date
    ends_on: date | None = Field(default=None, description="Last day it can be accepted")
    total_cap: Count | None = None
    per_account_cap: Count | None = 1
    stacking: Literal["exclusive", "stackable"] = "exclusive"
    stack_group: Code | None = Field(default=None, description="Stackable with offers of the same group")
    estimated_cost_minor: int | None = Field(
        default=None, ge=0, le=10**15, description="Cost of one redemption (default: computed from the terms)"
    )


class OfferPatch(BaseModel):
    """PATCH /v1/offers/{id}: what may change while an offer runs (its terms never do)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    ends_on: date | None = None
    total_cap: Count | None = None
    per_account_cap: Count | None = None
    segment_ids: list[str] | None = Field(default=None, max_length=50)
    channels: list[Channel] | None = Field(default=None, max_length=20)
    estimated_cost_minor: int | None = Field(default=None, ge=0, le=10**15)


def terms_of(offer: Offer) -> Terms:
    return Terms(
        offer.kind,
        offer.currency,
        offer.plan_code,
        offer.percent,
        offer.amount_minor,
        offer.periods,
        offer.value_minor,
    )


def terms_json(terms: Terms) -> dict[str, Any]:
    return {
        "kind": terms.kind,
        "currency": terms.currency,
        "plan_code": terms.plan_code,
        "percent": None if terms.percent is None else str(terms.percent),
        "amount_minor": terms.amount_minor,
        "periods": terms.periods,
        "value_minor": terms.value_minor,
    }


def terms_from_json(data: dict[str, Any]) -> Terms:
    percent = data.get("percent")
    return Terms(
        data["kind"],
        data["currency"],
        data.get("plan_code"),
        None if percent is None else Decimal(percent),
        data.get("amount_minor"),
        data.get("periods"),
        data.get("value_minor"),
    )


def _check_terms(request: OfferRequest) -> None:
    if request.currency not in MINOR_UNITS:
        raise RuleViolation(
            "currency_unknown", f"{request.currency!r} is not an ISO 4217 currency", field="currency"
        )
    if request.kind in DISCOUNT_KINDS:
        for name in ("plan_code", "periods"):
            if getattr(request, name) is None:
                raise RuleViolation(
                    "offer_terms_incomplete", f"a {request.kind} offer needs {name}", field=name
                )
        if (request.percent is None) == (request.amount_minor is None):
            raise RuleViolation(
                "offer_terms_invalid", "give either percent or amount_minor (one of them)", field="percent"
            )
        if request.value_minor is not None:
            raise RuleViolation(
                "offer_terms_invalid", f"a {request.kind} offer has no value", field="value_minor"
            )
    else:
        if request.value_minor is None:
            raise RuleViolation(
                "offer_terms_incomplete", f"a {request.kind} offer needs value_minor", field="value_minor"
            )
        for name in ("plan_code", "percent", "amount_minor", "periods"):
            if getattr(request, name) is not None:
                raise RuleViolation(
                    "offer_terms_invalid", f"a {request.kind} offer has no {name}", field=name
                )
    if request.ends_on is not None and request.ends_on < request.starts_on:
        raise RuleViolation("date_order", "ends_on is before starts_on", field="ends_on")
    if request.stack_group is not None and request.stacking == "exclusive":
        raise RuleViolation(
            "offer_terms_invalid", "an exclusive offer has no stack group", field="stack_group"
        )


def _check_segments(session: Session, operator: str, segment_ids: list[str]) -> None:
    if not segment_ids:
        return
    found = set(
        session.execute(
            select(Segment.id).where(Segment.organisation_id == operator, Segment.id.in_(segment_ids))
        ).scalars()
    )
    missing = [s for s in segment_ids if s not in found]
    if missing:
        raise RuleViolation(
            "segment_not_found", f"no segment {missing[0]} exists or it is not yours", field="segment_ids"
        )


def _plan_price(session: Session, operator: str, request: OfferRequest) -> int | None:
    """The plan's recurring price a period in the offer's currency (its last phase), if it has one."""
    assert request.plan_code is not None
    try:
        row = catalog.plan_on(session, operator, request.plan_code, request.starts_on)
    except NotFound:
        raise RuleViolation(
            "plan_not_found", f"no plan {request.plan_code} is sold on {request.starts_on}", field="plan_code"
        ) from None
    spec = PlanSpec.model_validate(row.spec)
    if request.kind in CHANGE_KINDS and request.kind == "addon" and spec.role != "addon":
        raise RuleViolation(
            "not_an_addon", f"plan {spec.code} is a base plan, not an add-on", field="plan_code"
        )
    if not spec.priced_in(request.currency):
        raise RuleViolation(
            "currency_not_priced", f"plan {spec.code} is not priced in {request.currency}", field="currency"
        )
    prices = [phase.prices[request.currency] for phase in spec.phases if request.currency in phase.prices]
    return round_minor(prices[-1], request.currency) if prices else None


def create_offer(session: Session, principal: Principal, request: OfferRequest) -> Offer:
    operator = catalog.operator_of(principal)
    _check_terms(request)
    _check_segments(session, operator, request.segment_ids)
    price = _plan_price(session, operator, request) if request.kind in DISCOUNT_KINDS else None
    taken = session.execute(
        select(Offer.id).where(Offer.organisation_id == operator, Offer.code == request.code)
    ).first()
    if taken is not None:
        raise Conflict("offer_code_taken", f"an offer {request.code} exists already")
    data = request.model_dump(exclude={"estimated_cost_minor"})
    offer = Offer(
        id=new_id("off"), organisation_id=operator, status="active", created_by=principal.key_id, **data
    )
    offer.redeemed_count, offer.cost_to_date_minor = 0, 0
    if request.estimated_cost_minor is not None:
        offer.estimated_cost_minor = request.estimated_cost_minor
    else:
        offer.estimated_cost_minor = estimated_cost(terms_of(offer), price)
    session.add(offer)
    session.flush()
    return offer


def find_offer(session: Session, operator: str, offer_id: str, *, lock: bool = False) -> Offer:
    stmt = select(Offer).where(Offer.id == offer_id, Offer.organisation_id == operator)
    offer = session.execute(stmt.with_for_update() if lock else stmt).scalar_one_or_none()
    if offer is None or not is_valid_id(offer_id, "off"):
        raise NotFound("offer", offer_id)
    return offer


def visible_offer(session: Session, principal: Principal, offer_id: str, *, lock: bool = False) -> Offer:
    return find_offer(session, catalog.operator_of(principal), offer_id, lock=lock)


def update_offer(session: Session, principal: Principal, offer_id: str, patch: OfferPatch) -> Offer:
    offer = visible_offer(session, principal, offer_id, lock=True)
    changes = patch.model_dump(exclude_unset=True)
    if offer.status == "ended":
        raise Conflict("offer_ended", f"offer {offer.id} has ended")
    if changes.get("segment_ids"):
        _check_segments(session, offer.organisation_id, changes["segment_ids"])
    if changes.get("ends_on") is not None and changes["ends_on"] < offer.starts_on:
        raise RuleViolation("date_order", "ends_on is before starts_on", field="ends_on")
    if changes.get("total_cap") is not None and changes["total_cap"] < offer.redeemed_count:
        raise Conflict(
            "cap_below_redemptions", f"offer {offer.id} was redeemed {offer.redeemed_count} times already"
        )
    for name, value in changes.items():
        if value is not None or name in ("ends_on", "total_cap", "per_account_cap"):
            setattr(offer, name, value)
    offer.updated_at = utcnow()
    session.flush()
    return offer


STATUS_MOVES = {"pause": ("active", "paused"), "resume": ("paused", "active"), "end": (None, "ended")}


def set_status(session: Session, principal: Principal, offer_id: str, move: str) -> Offer:
    """Pause (no accepts until resumed), resume, or end (for good). Accepted redemptions keep running."""
    offer = visible_offer(session, principal, offer_id, lock=True)
    source, target = STATUS_MOVES[move]
    if offer.status == target:
        return offer
    if offer.status == "ended" or (source is not None and offer.status != source):
        raise Conflict("offer_status_invalid", f"offer {offer.id} is {offer.status}; it cannot {move}")
    offer.status, offer.updated_at = target, utcnow()
    session.flush()
    return offer


def list_offers(
    session: Session, principal: Principal, *, status: str | None, after: str | None, limit: int
) -> tuple[list[Offer], str | None]:
    stmt = select(Offer).where(Offer.organisation_id == catalog.operator_of(principal))
    if status:
        stmt = stmt.where(Offer.status == status)
    if after:
        stmt = stmt.where(Offer.id > after)
    rows, more = fetch_page(session, stmt.order_by(Offer.id), limit)
    return rows, rows[-1].id if more and rows else None


__all__ = ["VALUE_KINDS", "OfferPatch", "OfferRequest", "create_offer", "find_offer", "list_offers"]
