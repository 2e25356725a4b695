"""What a caller may see: the organisation subtree of its principal (domain/principal.py).

A key sees its own organisation and everything below it in the partner tree (paths are prefixes);
anything outside is reported as not found by the callers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from domain.ids import is_valid_id
from domain.principal import Principal
from models.accounts import Account
from models.organisations import Organisation


def in_subtree(principal: Principal, organisation_path: str) -> bool:
    """Whether the organisation at ``organisation_path`` is the principal's or one below it."""
    return organisation_path.startswith(principal.organisation_path)


def find_visible_organisation(session: Session, principal: Principal, org_id: str) -> Organisation | None:
    """The organisation ``org_id`` if the principal may see it, else None."""
    org = session.get(Organisation, org_id) if is_valid_id(org_id, "org") else None
    if org is None or not in_subtree(principal, org.path):
        return None
    return org


def within_subtree(stmt: Select[Any], principal: Principal, account_column: Any) -> Select[Any]:
    """``stmt`` narrowed to rows whose account belongs to the caller's organisation subtree."""
    return (
        stmt.join(Account, Account.id == account_column)
        .join(Organisation, Organisation.id == Account.organisation_id)
        .where(Organisation.path.startswith(principal.organisation_path, autoescape=True))
    )


__all__ = ["Principal", "find_visible_organisation", "in_subtree", "within_subtree"]
