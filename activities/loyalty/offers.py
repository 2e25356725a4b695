"""The seam to the offers area: an award of kind ``offer`` grants the operator's offer (by code) to the
account through ``activities/offers/grants.py``, once per award (the award id is the grant's key). An offer
code the operator no longer has cannot be granted: the award is marked ``skipped`` (and stays visible)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from activities.offers import grants
from domain.errors import NotFound


class OfferGrantsUnavailable(RuntimeError):
    """The offer cannot be granted (its code is unknown to the operator, or the account is not theirs)."""


def grant_offer(
    session: Session, organisation_id: str, offer_code: str, account_id: str, idempotency_key: str
) -> str:
    """Grant the offer to the account once per ``idempotency_key``; the grant id."""
    try:
        return grants.grant_offer(session, organisation_id, offer_code, account_id, idempotency_key)
    except NotFound as exc:
        raise OfferGrantsUnavailable(f"offer {offer_code!r} cannot be granted: {exc}") from exc
