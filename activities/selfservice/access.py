"""The subscriber as the areas' scripts know a caller, and the one check every /v1/me route makes: the
object belongs to an account the subscriber may see, else it does not exist (404)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from domain.errors import NotFound
from domain.organisations import Role
from domain.principal import Principal
from domain.subscribers import Subscriber
from models.organisations import Organisation


def subscriber_principal(session: Session, subscriber: Subscriber) -> Principal:
    """A principal narrowed to the subscriber's organisation, acting as ``subscriber:<login id>``: the
    areas' scripts check the organisation; the routes check the accounts (``own``)."""
    org = session.get(Organisation, subscriber.organisation_id)
    if org is None:
        raise NotFound("organisation", subscriber.organisation_id)
    return Principal(
        key_id=f"subscriber:{subscriber.login_id}",
        organisation_id=org.id,
        organisation_path=org.path,
        role=Role.AGENT,
        organisation_kind=org.kind,
    )


def own(subscriber: Subscriber, kind: str, object_id: str, account_id: str | None) -> None:
    """404 ``<kind>_not_found`` unless ``account_id`` is one the subscriber may see."""
    if not subscriber.may_see(account_id):
        raise NotFound(kind, object_id)
