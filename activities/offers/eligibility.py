"""Which offers an account may take now, and why not (reusable by the operator API and the portal: it
takes an account, not a caller)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from activities.offers.catalogue import terms_from_json
from activities.subscriptions import records as store
from domain.offers import (
    DISCOUNT_KINDS,
    Caps,
    Eligibility,
    StackRule,
    cap_reached,
    ineligibility,
    stacks_with,
)
from models.accounts import Account
from models.billing import BilledCharge
from models.offers import Offer, OfferGrant, OfferRedemption
from models.segments import SegmentMember
from models.subscriptions import Subscription, SubscriptionService


def eligibility_of(offer: Offer) -> Eligibility:
    return Eligibility(
        offer.status,
        offer.starts_on,
        offer.ends_on,
        tuple(offer.channels or ()),
        tuple(offer.segment_ids or ()),
        offer.grant_only,
    )


def rule_of(offer: Offer) -> StackRule:
    return StackRule(offer.id, offer.stacking, offer.stack_group)


def segments_of(session: Session, account_id: str) -> set[str]:
    return set(
        session.execute(
            select(SegmentMember.segment_id).where(SegmentMember.account_id == account_id)
        ).scalars()
    )


def granted(session: Session, account_id: str, offer_ids: list[str]) -> set[str]:
    if not offer_ids:
        return set()
    stmt = select(OfferGrant.offer_id).where(
        OfferGrant.account_id == account_id, OfferGrant.offer_id.in_(offer_ids)
    )
    return set(session.execute(stmt).scalars())


def redeemed_by(session: Session, account_id: str, offer_ids: list[str]) -> dict[str, int]:
    if not offer_ids:
        return {}
    stmt = (
        select(OfferRedemption.offer_id, func.count())
        .where(OfferRedemption.account_id == account_id, OfferRedemption.offer_id.in_(offer_ids))
        .group_by(OfferRedemption.offer_id)
    )
    return {offer_id: count for offer_id, count in session.execute(stmt)}


def periods_billed(session: Session, redemption_ids: list[str]) -> dict[str, set[date]]:
    """The period starts each discount redemption was billed for (its ``billed_charges`` guard rows)."""
    if not redemption_ids:
        return {}
    out: dict[str, set[date]] = {}
    stmt = select(BilledCharge.key, BilledCharge.period_start).where(
        BilledCharge.charge == "discount", BilledCharge.key.in_(redemption_ids)
    )
    for key, start in session.execute(stmt):
        out.setdefault(key, set()).add(start)
    return out


def active_redemptions(session: Session, account_id: str) -> list[tuple[OfferRedemption, Offer]]:
    """The account's redemptions still running: a discount with periods left to bill (a value given
    once is complete when accepted)."""
    rows = session.execute(
        select(OfferRedemption, Offer)
        .join(Offer, Offer.id == OfferRedemption.offer_id)
        .where(OfferRedemption.account_id == account_id, OfferRedemption.status == "active")
        .order_by(OfferRedemption.id)
    ).all()
    billed = periods_billed(session, [r.id for r, _ in rows])
    out = []
    for redemption, offer in rows:
        terms = terms_from_json(redemption.terms)
        if terms.kind in DISCOUNT_KINDS and len(billed.get(redemption.id, ())) < (terms.periods or 0):
            out.append((redemption, offer))
    return out


def status_counts(session: Session, offer_id: str) -> dict[str, int]:
    """An offer's redemptions by status as they stand: a discount whose periods were all billed is
    ``completed`` (its stored status stays ``active``: the bill run's guard rows tell the rest)."""
    rows = session.execute(
        select(OfferRedemption.id, OfferRedemption.status, OfferRedemption.terms).where(
            OfferRedemption.offer_id == offer_id
        )
    ).all()
    billed = periods_billed(session, [row.id for row in rows if row.status == "active"])
    counts = {"active": 0, "completed": 0}
    for row in rows:
        used = len(billed.get(row.id, ()))
        running = row.status == "active" and used < (terms_from_json(row.terms).periods or 0)
        counts["active" if running else "completed"] += 1
    return counts


@dataclass(frozen=True)
class Verdict:
    offer: Offer
    reason: str | None  # None: the account may accept it now
    conflict_with: str | None = None  # the active redemption's offer it does not stack with


def judge(
    session: Session, account: Account, offers: list[Offer], today: date, channel: str
) -> list[Verdict]:
    """Each offer's verdict for the account today through ``channel``."""
    ids = [offer.id for offer in offers]
    member_of = segments_of(session, account.id)
    grants = granted(session, account.id, ids)
    counts = redeemed_by(session, account.id, ids)
    active = [rule_of(offer) for _, offer in active_redemptions(session, account.id)]
    verdicts = []
    for offer in offers:
        reason = ineligibility(eligibility_of(offer), today, channel, member_of, offer.id in grants)
        if reason is None:
            caps = Caps(offer.total_cap, offer.per_account_cap, offer.redeemed_count, counts.get(offer.id, 0))
            reason = cap_reached(caps)
        conflict = None
        if reason is None:
            clash = stacks_with(rule_of(offer), active)
            if clash is not None:
                reason, conflict = "not_stackable", clash.offer_id
        verdicts.append(Verdict(offer, reason, conflict))
    return verdicts


def eligible_offers(session: Session, account: Account, today: date, channel: str) -> list[Verdict]:
    """The operator's running offers the account may accept now (the others are left out)."""
    operator = store.operator_id(session, account.organisation_id)
    offers = list(
        session.execute(
            select(Offer)
            .where(
                Offer.organisation_id == operator,
                Offer.status == "active",
                Offer.starts_on <= today,
                or_(Offer.ends_on.is_(None), Offer.ends_on >= today),
                or_(Offer.total_cap.is_(None), Offer.redeemed_count < Offer.total_cap),
            )
            .order_by(Offer.id)
        ).scalars()
    )
    held = set(
        session.execute(
            select(SubscriptionService.plan_code)
            .join(Subscription, Subscription.id == SubscriptionService.subscription_id)
            .where(Subscription.account_id == account.id, SubscriptionService.status == "active")
        ).scalars()
    )
    offers = [o for o in offers if o.kind != "discount" or o.plan_code in held]  # a discount needs its plan
    return [v for v in judge(session, account, offers, today, channel) if v.reason is None]
