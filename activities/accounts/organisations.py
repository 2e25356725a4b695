"""Organisations and API keys: create the partner tree, mint and check keys (stored hashed)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import RuleViolation
from domain.ids import is_valid_id, new_id
from domain.organisations import MAX_DEPTH, OrganisationKind, Role, child_path, depth, may_parent
from domain.principal import Principal
from models.organisations import ApiKey, Organisation

KEY_PREFIX = "mb"


class OrganisationRuleError(RuleViolation):
    """A request breaks a rule of the organisation tree."""


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_organisation(
    session: Session,
    *,
    name: str,
    kind: OrganisationKind,
    parent: Organisation | None,
    country: str | None,
    contact_email: str | None = None,
) -> Organisation:
    if parent is None:
        if kind is not OrganisationKind.OPERATOR:
            raise OrganisationRuleError("invalid_parent", "only an operator can be the root of a tree")
        org_id = new_id("org")
        path = child_path("/", org_id)
    else:
        if not may_parent(OrganisationKind(parent.kind), kind):
            raise OrganisationRuleError(
                "invalid_parent", f"a {kind.value} cannot be placed under a {parent.kind} ({parent.id})"
            )
        if depth(parent.path) >= MAX_DEPTH:
            raise OrganisationRuleError("tree_too_deep", f"organisation trees are at most {MAX_DEPTH} deep")
        org_id = new_id("org")
        path = child_path(parent.path, org_id)
    org = Organisation(
        id=org_id,
        parent_id=parent.id if parent else None,
        kind=kind.value,
        name=name,
        path=path,
        country=country,
        contact_email=contact_email,
    )
    session.add(org)
    session.flush()
    return org


def mint_api_key(
    session: Session, *, organisation: Organisation, role: Role, name: str
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret token, which is shown once and never stored."""
    key_id = new_id("key")
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        id=key_id,
        organisation_id=organisation.id,
        role=role.value,
        name=name,
        secret_hash=hash_secret(secret),
    )
    session.add(key)
    session.flush()
    return key, f"{KEY_PREFIX}_{key_id}_{secret}"


def authenticate(session: Session, token: str) -> Principal | None:
    """The principal behind a bearer token, or None for an unknown, malformed or revoked key."""
    parts = token.split("_", 3)
    if len(parts) != 4 or parts[0] != KEY_PREFIX:
        return None
    key_id, secret = f"{parts[1]}_{parts[2]}", parts[3]
    if not is_valid_id(key_id, "key"):
        return None
    row = session.execute(
        select(ApiKey, Organisation.path, Organisation.kind)
        .join(Organisation, Organisation.id == ApiKey.organisation_id)
        .where(ApiKey.id == key_id)
    ).first()
    if row is None:
        return None
    key, path, kind = row
    if key.revoked_at is not None or not hmac.compare_digest(key.secret_hash, hash_secret(secret)):
        return None
    return Principal(
        key_id=key.id,
        organisation_id=key.organisation_id,
        organisation_path=path,
        role=Role(key.role),
        organisation_kind=kind,
    )


DEMO_OPERATOR_NAME = "Demo Telecom"


def seed_demo_operator(session: Session) -> tuple[Organisation, str | None]:
    """The demo operator with an admin key. Returns the key's token only when it was just created."""
    existing = session.execute(
        select(Organisation).where(Organisation.parent_id.is_(None), Organisation.name == DEMO_OPERATOR_NAME)
    ).scalar_one_or_none()
    if existing is not None:
        return existing, None
    org = create_organisation(
        session, name=DEMO_OPERATOR_NAME, kind=OrganisationKind.OPERATOR, parent=None, country="ES"
    )
    _, token = mint_api_key(session, organisation=org, role=Role.ADMIN, name="demo admin (seed)")
    return org, token
