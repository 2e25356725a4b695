"""Accounts in the system of record: create, edit, read, list; always within the caller's subtree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from activities.events.outbox import record
from activities.events.snapshots import account_data
from activities.shared.pagination import decode_cursor, encode_cursor, fetch_page
from activities.shared.visibility import find_visible_organisation
from domain import process_ids
from domain.errors import Conflict, NotFound, RuleViolation
from domain.events import BusinessEvent
from domain.ids import is_valid_id, new_id
from domain.principal import Principal
from domain.verification import status_after_email_change
from models.accounts import Account
from models.billing import Invoice
from models.organisations import Organisation
from models.subscriptions import Subscription
from models.wallets import Wallet

LIST_FILTERS = (
    "type",
    "status",
    "organisation_id",
    "parent_account_id",
    "email",
    "currency",
    "verification_status",
    "external_ref",
)


REQUIRED_ON_EDIT = (
    "given_name",
    "family_name",
    "legal_name",
    "registration_number",
    "display_name",
    "email",
    "language",
    "currency",
    "timezone",
    "tax_status",
    "addresses",
    "contacts",
    "status",
)


@dataclass(frozen=True)
class AccountPage:
    accounts: list[Account]
    next_cursor: str | None


def display_name_for(fields: dict[str, Any]) -> str:
    if fields.get("display_name"):
        return str(fields["display_name"])
    if fields.get("type") == "company" or fields.get("legal_name"):
        return str(fields["legal_name"])
    return f"{fields['given_name']} {fields['family_name']}"


def visible_account(
    session: Session, principal: Principal, account_id: str, *, lock: bool = False
) -> Account:
    if not is_valid_id(account_id, "acc"):
        raise NotFound("account", account_id)
    stmt = (
        select(Account)
        .join(Organisation, Organisation.id == Account.organisation_id)
        .where(
            Account.id == account_id,
            Organisation.path.startswith(principal.organisation_path, autoescape=True),
        )
    )
    if lock:
        stmt = stmt.with_for_update(of=Account)
    account = session.execute(stmt).scalar_one_or_none()
    if account is None:
        raise NotFound("account", account_id)
    return account


def _target_organisation(session: Session, principal: Principal, org_id: str | None) -> Organisation:
    org = find_visible_organisation(session, principal, org_id or principal.organisation_id)
    if org is None:
        raise NotFound("organisation", str(org_id))
    return org


def _check_parent(
    session: Session, principal: Principal, parent_id: str, org: Organisation, child_id: str
) -> None:
    parent = visible_account(session, principal, parent_id)
    if parent.type != "company":
        raise RuleViolation(
            "invalid_parent_account",
            f"{parent_id} is a person; only companies have child accounts",
            field="parent_account_id",
        )
    parent_org = session.get(Organisation, parent.organisation_id)
    assert parent_org is not None
    if not org.path.startswith(parent_org.path):
        raise RuleViolation(
            "invalid_parent_account",
            f"{parent_id} belongs to another branch of the organisation tree",
            field="parent_account_id",
        )
    ancestor: Account | None = parent
    while ancestor is not None:
        if ancestor.id == child_id:
            raise RuleViolation(
                "parent_account_cycle",
                f"{parent_id} is {child_id} or one of its children",
                field="parent_account_id",
            )
        ancestor = session.get(Account, ancestor.parent_account_id) if ancestor.parent_account_id else None


def create_account(session: Session, principal: Principal, fields: dict[str, Any]) -> Account:
    """Insert an account from validated fields; ``verification_status`` is pending when verify was asked."""
    org = _target_organisation(session, principal, fields.pop("organisation_id", None))
    verify = bool(fields.pop("verify", False))
    account_id = new_id("acc")
    if fields.get("parent_account_id"):
        _check_parent(session, principal, fields["parent_account_id"], org, account_id)
    account = Account(
        id=account_id,
        organisation_id=org.id,
        display_name=display_name_for(fields),
        status="active",
        language=fields.pop("language", None) or "en",
        tax_status=fields.pop("tax_status", None) or "taxable",
        addresses=fields.pop("addresses", None) or [],
        contacts=fields.pop("contacts", None) or [],
        verification_status="pending" if verify else "not_requested",
        version=1,
        **{k: v for k, v in fields.items() if k != "display_name"},
    )
    session.add(account)
    session.flush()
    record(session, BusinessEvent("account.created", org.id, "account", account.id, account_data(account)))
    return account


def money_counted_in_currency(session: Session, account_id: str) -> bool:
    """Whether the account has subscriptions, invoices or a wallet: its amounts are in its currency."""
    return any(
        session.execute(select(exists().where(model.account_id == account_id))).scalar()
        for model in (Subscription, Invoice, Wallet)
    )


def _check_currency(session: Session, account: Account, changes: dict[str, Any]) -> None:
    new = changes.get("currency")
    if new is not None and new != account.currency and money_counted_in_currency(session, account.id):
        raise Conflict(
            "currency_locked",
            f"{account.id} already has subscriptions, invoices or a wallet in {account.currency}; "
            "open a new account for another currency",
        )


def _reverify(account: Account, changes: dict[str, Any], asked: bool) -> bool:
    """Void the confirmation of an old address; True when a verification of the new one must start."""
    new_email = changes.get("email")
    moved = new_email is not None and new_email.strip().lower() != account.email.strip().lower()
    if moved:
        status = status_after_email_change(account.verification_status, asked=asked)
    elif asked and account.verification_status != "verified":
        status = "pending"  # asked again (e.g. the first start could not reach Temporal)
    else:
        return False
    account.verification_status, account.verified_at = status, None
    # The process id names the account's version after this edit, so every restart is a new process.
    restart = status == "pending"
    account.verification_process_id = (
        process_ids.account_verification(account.id, account.version + 1) if restart else None
    )
    return restart


def update_account(
    session: Session,
    principal: Principal,
    account_id: str,
    changes: dict[str, Any],
    expected_version: int | None,
) -> tuple[Account, bool]:
    """Apply an edit; returns the account and whether a verification of its address must start."""
    verify = bool(changes.pop("verify", False))
    account = visible_account(session, principal, account_id, lock=True)
    if expected_version is not None and account.version != expected_version:
        raise Conflict(
            "version_mismatch", f"{account_id} is at version {account.version}, not {expected_version}"
        )
    if account.status == "closed" and changes.get("status") != "active":
        raise Conflict("account_closed", f"{account_id} is closed; reopen it with status=active first")
    if changes.get("parent_account_id"):
        org = session.get(Organisation, account.organisation_id)
        assert org is not None
        _check_parent(session, principal, changes["parent_account_id"], org, account.id)
    for name in REQUIRED_ON_EDIT:
        if name in changes and changes[name] is None:
            raise RuleViolation("field_required", f"{name} cannot be removed", field=name)
    if account.type == "person" and ({"legal_name", "registration_number"} & changes.keys()):
        raise RuleViolation("invalid_field", "legal_name and registration_number are for company accounts")
    _check_currency(session, account, changes)
    restart = _reverify(account, changes, verify)
    for name, value in changes.items():
        setattr(account, name, value)
    if "display_name" not in changes and ({"given_name", "family_name", "legal_name"} & changes.keys()):
        account.display_name = display_name_for(
            {
                "type": account.type,
                "given_name": account.given_name,
                "family_name": account.family_name,
                "legal_name": account.legal_name,
            }
        )
    if account.tax_status == "reverse_charge" and (account.type != "company" or not account.tax_id):
        raise RuleViolation("invalid_tax_status", "reverse_charge needs a company account with a tax_id")
    account.version += 1
    session.flush()
    return account, restart


def list_accounts(
    session: Session, principal: Principal, filters: dict[str, Any], cursor: str | None, limit: int
) -> AccountPage:
    stmt: Select[Account] = (
        select(Account)
        .join(Organisation, Organisation.id == Account.organisation_id)
        .where(Organisation.path.startswith(principal.organisation_path, autoescape=True))
    )
    for name in LIST_FILTERS:
        value = filters.get(name)
        if value is not None:
            stmt = stmt.where(getattr(Account, name) == value)
    if cursor:
        stmt = stmt.where(Account.id > decode_cursor(cursor, "acc"))
    rows, more = fetch_page(session, stmt.order_by(Account.id), limit)
    return AccountPage(rows, encode_cursor(rows[-1].id) if more and rows else None)


__all__ = ["create_account", "list_accounts", "update_account", "visible_account"]
