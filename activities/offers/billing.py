"""What bill runs and quotes need of accepted discount offers: each subscription's active discounts."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.offers.catalogue import terms_from_json
from activities.offers.eligibility import periods_billed
from domain.offers import DISCOUNT_KINDS, ActiveDiscount
from models.bulk import any_of
from models.offers import Offer, OfferRedemption


def active_discounts(session: Session, sub_ids: list[str]) -> dict[str, tuple[ActiveDiscount, ...]]:
    """Per subscription, its accepted discount offers with periods left (the periods already billed are
    filled in by the bill run from its own guard rows; a quote fills them here)."""
    if not sub_ids:
        return {}
    rows = session.execute(
        select(
            OfferRedemption.id,
            OfferRedemption.subscription_id,
            OfferRedemption.terms,
            OfferRedemption.accepted_on,
            Offer.code,
        )
        .join(Offer, Offer.id == OfferRedemption.offer_id)
        .where(any_of(OfferRedemption.subscription_id, sub_ids), OfferRedemption.status == "active")
        .order_by(OfferRedemption.id)
    ).all()
    billed = periods_billed(session, [row.id for row in rows])
    found: dict[str, list[ActiveDiscount]] = defaultdict(list)
    for row in rows:
        terms = terms_from_json(row.terms)
        done = frozenset(billed.get(row.id, ()))
        if terms.kind in DISCOUNT_KINDS and len(done) < (terms.periods or 0):
            found[row.subscription_id].append(ActiveDiscount(row.id, row.code, terms, row.accepted_on, done))
    return {sub_id: tuple(items) for sub_id, items in found.items()}
