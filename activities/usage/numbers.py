"""Which region a usage record's national numbers belong to: the account's country, else the operator's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.accounts import Account
from models.organisations import Organisation
from models.subscriptions import Subscription


def organisation_region(session: Session, organisation_id: str) -> str | None:
    """The country of the organisation, else of its nearest ancestor that has one (the operator's)."""
    path = session.execute(select(Organisation.path).where(Organisation.id == organisation_id)).scalar_one()
    ids = [part for part in path.strip("/").split("/") if part]
    countries: dict[str, str | None] = {
        org_id: country
        for org_id, country in session.execute(
            select(Organisation.id, Organisation.country).where(Organisation.id.in_(ids))
        )
    }
    return next((countries[i] for i in reversed(ids) if countries.get(i)), None)


def address_country(addresses: list[dict[str, Any]] | None) -> str | None:
    """The billing address's country, else the first address's that names one."""
    rows = addresses or []
    ordered = [a for a in rows if a.get("kind") == "billing"] + [
        a for a in rows if a.get("kind") != "billing"
    ]
    return next((str(a["country"]) for a in ordered if a.get("country")), None)


def subscription_regions(session: Session, subscription_ids: Iterable[str]) -> dict[str, str | None]:
    """subscription id → the country of its account's address (None when the account names none)."""
    wanted = list(set(subscription_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Subscription.id, Account.addresses)
        .join(Account, Account.id == Subscription.account_id)
        .where(Subscription.id.in_(wanted))
    )
    return {sub_id: address_country(addresses) for sub_id, addresses in rows}
