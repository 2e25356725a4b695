"""The partners area as charge acceptance uses it: the providers installed, a provider session for an
operator (``activities/partners/sessions.py``, the one way to open one) and the connection a pushed charge
names (404 when the operator has no enabled connection to that provider)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.partners.sessions import connection_details, partner_session
from domain.errors import NotFound
from integrations.partners.base import PartnerConnection as ConnectionSpec
from integrations.partners.base import PartnerRegistry
from integrations.partners.registry import build_partner_registry
from models.partners import PartnerConnection
from runtime.settings import Settings

__all__ = [
    "PartnerRegistry",
    "connection_row",
    "connection_spec",
    "enabled_providers",
    "partner_registry",
    "partner_session",
]


def partner_registry(settings: Settings) -> PartnerRegistry:
    """The built-in providers (Netflix, pulled; SportStream, pushed), then the installed plug-ins."""
    return build_partner_registry(settings)


def connection_row(session: Session, organisation_id: str, provider: str) -> PartnerConnection:
    """The operator's enabled connection to ``provider`` (404 ``partner_connection_not_found``)."""
    row = session.execute(
        select(PartnerConnection).where(
            PartnerConnection.organisation_id == organisation_id,
            PartnerConnection.provider == provider,
            PartnerConnection.enabled.is_(True),
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(
            "partner_connection", f"{provider} (no enabled connection of organisation {organisation_id})"
        )
    return row


def connection_spec(settings: Settings, row: PartnerConnection) -> ConnectionSpec:
    """The connection as a provider takes it, its secret opened."""
    return connection_details(row, settings)


def enabled_providers(session: Session, organisation_id: str) -> list[str]:
    """The providers the operator has an enabled connection to, by name."""
    return list(
        session.execute(
            select(PartnerConnection.provider)
            .where(PartnerConnection.organisation_id == organisation_id, PartnerConnection.enabled.is_(True))
            .order_by(PartnerConnection.provider)
        ).scalars()
    )
