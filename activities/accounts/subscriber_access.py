"""The accounts a signed-in subscriber may act on, and the principal the shared transaction scripts take
when a subscriber (not staff) calls them.

Every self-service route first narrows to ``subscriber.account_ids`` here (anything else is NotFound,
exactly as if it did not exist), then calls the same scripts the staff routes call.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import NotFound
from domain.ids import is_valid_id
from domain.organisations import Role
from domain.principal import Principal
from domain.subscribers import Subscriber
from models.accounts import Account
from models.organisations import Organisation


def own_account(
    session: Session, subscriber: Subscriber, account_id: str | None = None, *, lock: bool = False
) -> Account:
    """The subscriber's account (its own by default, or one of its B2B children), else NotFound."""
    wanted = account_id or subscriber.account_id
    if not is_valid_id(wanted, "acc") or not subscriber.may_see(wanted):
        raise NotFound("account", wanted)
    stmt = select(Account).where(Account.id == wanted)
    if lock:
        stmt = stmt.with_for_update()
    account = session.execute(stmt).scalar_one_or_none()
    if account is None:
        raise NotFound("account", wanted)
    return account


def acting_principal(session: Session, subscriber: Subscriber, account: Account) -> Principal:
    """The subscriber as the caller of a shared script: narrowed to the account's own organisation and
    named by its login (the actor in histories). Only ever used after ``own_account`` or an equivalent
    check has proved the object is the subscriber's."""
    path = session.execute(
        select(Organisation.path).where(Organisation.id == account.organisation_id)
    ).scalar_one()
    return Principal(
        key_id=subscriber.login_id,
        organisation_id=account.organisation_id,
        organisation_path=str(path),
        role=Role.AGENT,
    )
