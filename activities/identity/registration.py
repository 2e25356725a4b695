"""Self-registration: an account (the accounts area's own script, verification pending) and its login.

An address already registered gets the same answer and a "you already have an account" e-mail instead,
so the answer never tells whether an address is known. The login can sign in with its password once the
e-mail is verified (the AccountVerification process, started by the API after the commit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.accounts import records as account_store
from activities.identity import mail
from activities.identity.errors import Refused
from activities.identity.passwords import hash_password, password_problem
from domain import process_ids
from domain.ids import new_id
from domain.organisations import Role
from domain.principal import Principal
from models.accounts import Account
from models.catalog import PlanVersion
from models.identity import SignupRequest
from models.organisations import Organisation
from models.subscribers import SubscriberLogin


@dataclass(frozen=True)
class Registered:
    account: dict[str, Any] | None  # what starts AccountVerification; None: the address was known


def self_service(organisation: Organisation) -> Principal:
    """The principal a self-registration acts as: the operator itself (no API key)."""
    return Principal(
        key_id="self-registration",
        organisation_id=organisation.id,
        organisation_path=organisation.path,
        role=Role.ADMIN,
        organisation_kind=organisation.kind,
    )


def find_login(session: Session, organisation_id: str, email: str) -> SubscriberLogin | None:
    return session.scalar(
        select(SubscriberLogin).where(
            SubscriberLogin.organisation_id == organisation_id,
            SubscriberLogin.email == email.strip().lower(),
        )
    )


def register(
    session: Session,
    organisation_id: str,
    fields: dict[str, Any],
    *,
    password: str,
    plan_code: str | None,
    ip_address: str | None,
    portal_url: str,
) -> Registered:
    email = str(fields["email"]).strip().lower()
    problem = password_problem(password, email)
    if problem is not None:
        raise problem
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or organisation.kind != "operator":
        raise Refused(404, "operator_unknown", "No operator takes subscribers here")
    if plan_code is not None and not _plan_exists(session, organisation, plan_code):
        raise Refused(422, "plan_not_found", f"No plan {plan_code} is offered here")
    known = find_login(session, organisation_id, email)
    if known is not None:
        account = session.get(Account, known.account_id)
        assert account is not None
        link = f"{portal_url.rstrip('/')}/portal/login"
        mail.queue_email(
            session, account=account, kind=mail.ALREADY_REGISTERED, to=email, link=link, ref=new_id("rgx")
        )
        return Registered(None)
    account = account_store.create_account(
        session, self_service(organisation), {**fields, "email": email, "verify": True}
    )
    account.verification_process_id = process_ids.account_verification(account.id)
    login = SubscriberLogin(
        id=new_id("usr"),
        organisation_id=organisation_id,
        account_id=account.id,
        email=email,
        password_hash=hash_password(password),
        failed_attempts=0,
    )
    session.add(login)
    session.flush()
    session.add(SignupRequest(login_id=login.id, plan_code=plan_code, ip_address=ip_address))
    session.flush()
    return Registered(
        {
            "id": account.id,
            "organisation_id": account.organisation_id,
            "email": account.email,
            "display_name": account.display_name,
            "language": account.language,
            "process_id": account.verification_process_id,
        }
    )


def _plan_exists(session: Session, organisation: Organisation, code: str) -> bool:
    found = select(PlanVersion.id).where(
        PlanVersion.organisation_id == organisation.id, PlanVersion.code == code
    )
    return session.scalar(found.limit(1)) is not None
