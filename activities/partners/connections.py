"""An operator's connections to partner providers: create (the secret sealed), read, list, edit. One
transaction each (the caller's session). The secret is never returned once stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain import partners
from domain.errors import Conflict, NotFound
from domain.ids import new_id
from domain.principal import Principal
from models.base import utcnow
from models.partners import PartnerConnection


@dataclass(frozen=True)
class ConnectionSpec:
    provider: str
    base_url: str
    partner_id: str
    secret: str
    enabled: bool = True
    revenue_share_percent: Decimal = Decimal(0)
    options: dict[str, Any] | None = None


@dataclass(frozen=True)
class ConnectionEdit:
    base_url: str | None = None
    partner_id: str | None = None
    secret: str | None = None
    enabled: bool | None = None
    revenue_share_percent: Decimal | None = None
    options: dict[str, Any] | None = None


def create_connection(
    session: Session, principal: Principal, spec: ConnectionSpec, data_key: str
) -> PartnerConnection:
    """The organisation's new connection to ``spec.provider`` (one per provider: 409 otherwise)."""
    partners.check_share_percent(spec.revenue_share_percent)
    existing = session.execute(
        select(PartnerConnection.id).where(
            PartnerConnection.organisation_id == principal.organisation_id,
            PartnerConnection.provider == spec.provider,
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise Conflict(
            "partner_connection_exists",
            f"a connection to {spec.provider!r} exists already ({existing}): edit it instead",
            field="provider",
        )
    connection_id = new_id("pcon")
    row = PartnerConnection(
        id=connection_id,
        organisation_id=principal.organisation_id,
        provider=spec.provider,
        base_url=spec.base_url,
        partner_id=spec.partner_id,
        secret_sealed=partners.secret_vault(data_key).seal(spec.secret, connection_id),
        enabled=spec.enabled,
        revenue_share_percent=spec.revenue_share_percent,
        options=dict(spec.options or {}),
        created_at=utcnow(),
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(
            "partner_connection_exists", f"a connection to {spec.provider!r} exists already", field="provider"
        ) from None
    return row


def find_connection(
    session: Session, principal: Principal, connection_id: str, *, lock: bool = False
) -> PartnerConnection:
    """The caller's organisation's connection, else ``NotFound``."""
    row = session.get(PartnerConnection, connection_id, with_for_update=lock)
    if row is None or row.organisation_id != principal.organisation_id:
        raise NotFound("partner_connection", connection_id)
    return row


def list_connections(session: Session, principal: Principal) -> Sequence[PartnerConnection]:
    """The caller's organisation's connections, by id."""
    return (
        session.execute(
            select(PartnerConnection)
            .where(PartnerConnection.organisation_id == principal.organisation_id)
            .order_by(PartnerConnection.id)
        )
        .scalars()
        .all()
    )


def update_connection(row: PartnerConnection, edit: ConnectionEdit, data_key: str) -> PartnerConnection:
    """Apply the given changes (a new secret is sealed again)."""
    if edit.revenue_share_percent is not None:
        row.revenue_share_percent = partners.check_share_percent(edit.revenue_share_percent)
    if edit.base_url is not None:
        row.base_url = edit.base_url
    if edit.partner_id is not None:
        row.partner_id = edit.partner_id
    if edit.secret is not None:
        row.secret_sealed = partners.secret_vault(data_key).seal(edit.secret, row.id)
    if edit.enabled is not None:
        row.enabled = edit.enabled
    if edit.options is not None:
        row.options = dict(edit.options)
    return row


def ensure_connection(
    session: Session,
    organisation_id: str,
    provider: str,
    base_url: str,
    partner_id: str,
    secret: str,
    data_key: str,
) -> PartnerConnection:
    """The organisation's connection to ``provider`` pointed at ``base_url`` with these credentials,
    created when missing (used by `multibill up --simulators` for the demo operator)."""
    row = session.execute(
        select(PartnerConnection).where(
            PartnerConnection.organisation_id == organisation_id, PartnerConnection.provider == provider
        )
    ).scalar_one_or_none()
    if row is None:
        row = PartnerConnection(
            id=new_id("pcon"),
            organisation_id=organisation_id,
            provider=provider,
            base_url=base_url,
            partner_id=partner_id,
            secret_sealed="",
            enabled=True,
            revenue_share_percent=Decimal(0),
            options={},
            created_at=utcnow(),
        )
        session.add(row)
    row.base_url, row.partner_id, row.enabled = base_url, partner_id, True
    row.secret_sealed = partners.secret_vault(data_key).seal(secret, row.id)
    session.flush()
    return row
