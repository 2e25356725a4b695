"""Granting an offer to one account (a loyalty award is "an offer"): the account becomes eligible for it,
whatever its segments (a ``grant_only`` offer is open to granted accounts alone). Once per key."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.errors import NotFound
from domain.ids import new_id
from models.accounts import Account
from models.offers import Offer, OfferGrant
from models.organisations import Organisation


def grant_offer(
    session: Session, organisation_id: str, offer_code: str, account_id: str, idempotency_key: str
) -> str:
    """Grant the operator's offer ``offer_code`` to ``account_id``; the grant id (the same key twice: one
    grant, its id). ``organisation_id`` is the operator (or any organisation under it)."""
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound("organisation", organisation_id)
    operator = org.path.strip("/").split("/")[0]
    offer_id = session.execute(
        select(Offer.id).where(Offer.organisation_id == operator, Offer.code == offer_code)
    ).scalar_one_or_none()
    if offer_id is None:
        raise NotFound("offer", offer_code)
    account = session.execute(
        select(Account.id)
        .join(Organisation, Organisation.id == Account.organisation_id)
        .where(Account.id == account_id, Organisation.path.startswith(f"/{operator}/", autoescape=True))
    ).scalar_one_or_none()
    if account is None:
        raise NotFound("account", account_id)
    created = session.execute(
        insert(OfferGrant)
        .values(
            id=new_id("ogr"),
            organisation_id=operator,
            offer_id=offer_id,
            account_id=account_id,
            idempotency_key=idempotency_key,
        )
        .on_conflict_do_nothing(constraint="uq_offer_grants_key")
        .returning(OfferGrant.id)
    ).scalar_one_or_none()
    if created is not None:
        return str(created)
    return str(
        session.execute(
            select(OfferGrant.id).where(
                OfferGrant.organisation_id == operator, OfferGrant.idempotency_key == idempotency_key
            )
        ).scalar_one()
    )
